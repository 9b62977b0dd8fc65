#!/usr/bin/python3
"""Times bench/train_step on 1 thread and on 2 beside a busy neighbour — a second train_step on one
thread, running throughout — and prints the ratio: issue 14 asks that 2 threads not be slower than
1 there. Each case alternates 1 and 2 threads (ABBA) for --rounds rounds per side; the table gives
the medians, their ratio, in brackets the range of the rounds' own ratios, and the thread counts
the 2-thread runs ended with (core/threads.h: fewer while others keep the CPUs busy). --adapt 0 runs
both sides with MINIDL_ADAPTIVE_THREADS=0 (a fixed thread count, passive waiting; core/threads.h),
for comparison.

bench/busy_compare.py BUILD_DIR [--filter TEXT] [--seconds 3] [--rounds 3] [--adapt 1]
"""
import argparse
import json
import os
import statistics
import subprocess

from compare import MALLOC_KEEPS_MEMORY


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the build directory (holds bench/train_step)")
    parser.add_argument("--filter", default="resnet20_bn_b32", help="cases whose name contains this")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--adapt", default="1", help="MINIDL_ADAPTIVE_THREADS for the timed runs")
    args = parser.parse_args()

    step = os.path.join(args.build, "bench", "train_step")
    env = dict(os.environ, GLIBC_TUNABLES=MALLOC_KEEPS_MEMORY, MINIDL_ADAPTIVE_THREADS=args.adapt)
    cases = [c for c in subprocess.run([step, "--list"], check=True, capture_output=True, text=True).stdout.split()
             if args.filter in c]
    neighbour = subprocess.Popen([step, "--case", "train_resnet20_gn_b32", "--threads", "1", "--seconds", "1e9"],
                                 stdout=subprocess.DEVNULL, env=dict(os.environ, GLIBC_TUNABLES=MALLOC_KEEPS_MEMORY))
    try:
        print(f"beside a busy bench/train_step --case train_resnet20_gn_b32 --threads 1; MINIDL_ADAPTIVE_THREADS="
              f"{args.adapt}; img/s, median of {args.rounds} rounds")
        print(f"{'case':28} {'1 thread':>9} {'2 threads':>10} {'2 / 1':>6} {'(range)':>13}  ended with", flush=True)
        for case in cases:
            runs, ended = {1: [], 2: []}, []
            for r in range(args.rounds):
                for threads in (1, 2) if r % 2 == 0 else (2, 1):
                    out = subprocess.run([step, "--case", case, "--threads", str(threads), "--seconds",
                                          str(args.seconds)], check=True, capture_output=True, text=True, env=env)
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                    runs[threads].append(row["img_s"])
                    if threads == 2:
                        ended.append(str(row["threads_at_end"]))
            one, two = statistics.median(runs[1]), statistics.median(runs[2])
            each = [b / a for a, b in zip(runs[1], runs[2])]
            print(f"{case:28} {one:9.1f} {two:10.1f} {two / one:5.2f}x {f'({min(each):.2f}-{max(each):.2f})':>13}  "
                  f"{','.join(ended)}", flush=True)
    finally:
        neighbour.kill()
        neighbour.wait()


if __name__ == "__main__":
    main()
