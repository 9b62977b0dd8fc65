#!/usr/bin/python3
"""Runs bench/train_step (minidl) and bench/torch_train.py (PyTorch) case by case, each case in a
fresh process of its own so that its peak resident memory is that case's, and prints a table:
img/s of each, the ratio minidl / PyTorch (above 1: minidl is faster) and both peak RSS.

Both run with glibc's malloc told to keep freed memory (GLIBC_TUNABLES, below). PyTorch's CPU
allocator hands every activation back to malloc, and with glibc's defaults large blocks go back to
the kernel and come back as fresh pages on every step: PyTorch then runs up to 1.8x slower in a
fresh process (resnet20 inference at batch 32: ~1,800 img/s instead of ~3,100 here). PyTorch's
own performance guide recommends jemalloc or tcmalloc for the same reason. minidl keeps freed
blocks in its caching allocator and is not affected either way.

bench/train_compare.py BUILD_DIR [--threads 2] [--filter TEXT] [--seconds 2] [--jsonl OUT]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


MALLOC_KEEPS_MEMORY = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"


def run_case(command, case):
    env = dict(os.environ, GLIBC_TUNABLES=MALLOC_KEEPS_MEMORY)
    out = subprocess.run(command + ["--case", case], check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the build directory (holds bench/train_step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--jsonl", help="also write every measurement here, one JSON object per line")
    args = parser.parse_args()

    common = ["--threads", str(args.threads), "--seconds", str(args.seconds)]
    ours = [os.path.join(args.build, "bench", "train_step")] + common
    theirs = [sys.executable, os.path.join(HERE, "torch_train.py")] + common
    cases = [c for c in subprocess.run(ours + ["--list"], check=True, capture_output=True, text=True).stdout.split()
             if args.filter in c]

    rows = []
    header = f"{'case':28} {'minidl img/s':>12} {'torch img/s':>12} {'ratio':>7} {'minidl MB':>10} {'torch MB':>9}"
    print(header)
    print("-" * len(header), flush=True)
    for case in cases:
        a, b = run_case(ours, case), run_case(theirs, case)
        rows += [a, b]
        print(f"{case:28} {a['img_s']:12.1f} {b['img_s']:12.1f} {a['img_s'] / b['img_s']:6.2f}x "
              f"{a['peak_rss_mb']:10.1f} {b['peak_rss_mb']:9.1f}", flush=True)
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
