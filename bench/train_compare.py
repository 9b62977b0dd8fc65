#!/usr/bin/python3
"""Runs bench/train_step (minidl) and bench/torch_train.py (PyTorch) case by case, each case in a
fresh process of its own so that its peak resident memory is that case's, and prints a table:
img/s of minidl and of PyTorch on each CPU path this machine runs (MINIDL_CPU=avx512, avx2, ...;
--paths picks; PyTorch held to the same instruction set, bench/compare.py's TORCH_PATH_ENV), the ratios
minidl / PyTorch (above 1: minidl is faster) and the peak RSS of both on the first path.

On a shared machine one process's speed swings with its neighbours' load, so each case runs
--rounds times per side, minidl and PyTorch alternating (ABBA order), and the table gives each
side's median img/s, the ratio of the medians and, in brackets, the range of the rounds' own
ratios (round i of minidl against round i of PyTorch).

Both run with glibc's malloc told to keep freed memory (GLIBC_TUNABLES, below). PyTorch's CPU
allocator hands every activation back to malloc, and with glibc's defaults large blocks go back to
the kernel and come back as fresh pages on every step: PyTorch then runs up to 1.8x slower in a
fresh process (resnet20 inference at batch 32: ~1,800 img/s instead of ~3,100 here). PyTorch's
own performance guide recommends jemalloc or tcmalloc for the same reason. minidl keeps freed
blocks in its caching allocator and is not affected either way.

bench/train_compare.py BUILD_DIR [--threads 2] [--filter TEXT] [--seconds 1] [--rounds 3] [--paths avx2,avx512]
                       [--jsonl OUT]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from compare import MALLOC_KEEPS_MEMORY, TORCH_PATH_ENV

HERE = os.path.dirname(os.path.abspath(__file__))


def run_case(command, case, path=None, torch=False):
    env = dict(os.environ, GLIBC_TUNABLES=MALLOC_KEEPS_MEMORY)
    if path and torch:
        env.update(TORCH_PATH_ENV[path])
    elif path:
        env["MINIDL_CPU"] = path
    out = subprocess.run(command + ["--case", case], check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the build directory (holds bench/train_step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs per case and side, alternating (median)")
    parser.add_argument("--paths", help="CPU paths for minidl, e.g. avx2,avx512 (default: every one this CPU runs)")
    parser.add_argument("--jsonl", help="also write every measurement here, one JSON object per line")
    args = parser.parse_args()

    common = ["--threads", str(args.threads), "--seconds", str(args.seconds)]
    ours = [os.path.join(args.build, "bench", "train_step")] + common
    theirs = [sys.executable, os.path.join(HERE, "torch_train.py")] + common
    listed = lambda flag: subprocess.run(ours + [flag], check=True, capture_output=True, text=True).stdout.split()
    cases = [c for c in listed("--list") if args.filter in c]
    paths = args.paths.split(",") if args.paths else listed("--list-paths")

    rows = []
    cpu = None
    header = f"{'case':28}" + "".join(f" {p + ' minidl':>13} {'torch':>7} {'ratio':>6} {'(range)':>13}" for p in paths)
    header += f" {'minidl MB':>10} {'torch MB':>9}"
    for case in cases:
        cells = ""
        for i, path in enumerate(paths):
            ours_runs, theirs_runs = [], []
            sides = [(ours, ours_runs, False), (theirs, theirs_runs, True)]
            for r in range(args.rounds):
                for command, runs, torch in sides if r % 2 == 0 else sides[::-1]:  # ABBA: neither always first
                    runs.append(run_case(command, case, path, torch=torch))
            if cpu is None:
                cpu = ours_runs[0]["cpu"]
                print(f"{cpu}, {args.threads} threads; img/s: median of {args.rounds} rounds; MB: peak RSS on the "
                      f"{paths[0]} path")
                print(header)
                print("-" * len(header), flush=True)
            for run in ours_runs + theirs_runs:
                run["path"] = path
            rows += ours_runs + theirs_runs
            a = statistics.median(run["img_s"] for run in ours_runs)
            b = statistics.median(run["img_s"] for run in theirs_runs)
            each = [x["img_s"] / y["img_s"] for x, y in zip(ours_runs, theirs_runs)]
            cells += f" {a:13.1f} {b:7.1f} {a / b:5.2f}x {f'({min(each):.2f}-{max(each):.2f})':>13}"
            if i == 0:
                memory = f" {ours_runs[0]['peak_rss_mb']:10.1f} {theirs_runs[0]['peak_rss_mb']:9.1f}"
        print(f"{case:28}{cells}{memory}", flush=True)
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
