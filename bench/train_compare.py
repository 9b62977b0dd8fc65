#!/usr/bin/python3
"""Runs bench/train_step (minidl) and bench/torch_train.py (PyTorch) case by case, each case in a
fresh process of its own so that its peak resident memory is that case's, and prints a table:
img/s of minidl and of PyTorch on each CPU path this machine runs (MINIDL_CPU=avx512, avx2, ...;
--paths picks; PyTorch held to the same instruction set, bench/compare.py's TORCH_PATH_ENV), the ratios
minidl / PyTorch (above 1: minidl is faster) and the peak RSS of both on the first path.

Both run with glibc's malloc told to keep freed memory (GLIBC_TUNABLES, below). PyTorch's CPU
allocator hands every activation back to malloc, and with glibc's defaults large blocks go back to
the kernel and come back as fresh pages on every step: PyTorch then runs up to 1.8x slower in a
fresh process (resnet20 inference at batch 32: ~1,800 img/s instead of ~3,100 here). PyTorch's
own performance guide recommends jemalloc or tcmalloc for the same reason. minidl keeps freed
blocks in its caching allocator and is not affected either way.

bench/train_compare.py BUILD_DIR [--threads 2] [--filter TEXT] [--seconds 2] [--paths avx2,avx512] [--jsonl OUT]
"""
import argparse
import json
import os
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
    parser.add_argument("--seconds", type=float, default=2.0)
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
    header = f"{'case':28}" + "".join(f" {p + ' minidl':>13} {'torch':>7} {'ratio':>6}" for p in paths) + \
             f" {'minidl MB':>10} {'torch MB':>9}"
    for case in cases:
        ours_rows = [run_case(ours, case, p) for p in paths]
        theirs_rows = [run_case(theirs, case, p, torch=True) for p in paths]
        if cpu is None:
            cpu = ours_rows[0]["cpu"]
            print(f"{cpu}, {args.threads} threads; img/s; MB: peak RSS on the {paths[0]} path")
            print(header)
            print("-" * len(header), flush=True)
        rows += ours_rows + theirs_rows
        cells = "".join(f" {a['img_s']:13.1f} {b['img_s']:7.1f} {a['img_s'] / b['img_s']:5.2f}x"
                        for a, b in zip(ours_rows, theirs_rows))
        print(f"{case:28}{cells} {ours_rows[0]['peak_rss_mb']:10.1f} {theirs_rows[0]['peak_rss_mb']:9.1f}", flush=True)
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)


if __name__ == "__main__":
    main()
