#!/usr/bin/python3
"""Runs bench/layers (minidl) and bench/torch_layers.py (PyTorch) on each CPU path this machine
runs — minidl with --paths P, PyTorch held to the same instruction set (compare.py's
TORCH_PATH_ENV) — and prints a table per path: times, the ratio PyTorch / minidl (above 1: minidl
is faster), GFLOP/s and, for minidl, the fraction of the path's FMA peak (counted in the direct
convolution's flops: a Winograd convolution can pass 100 %). Both run with glibc's malloc told to
keep freed memory (compare.py's MALLOC_KEEPS_MEMORY), as in bench/train_compare.py.

bench/layers_compare.py BUILD_DIR [--threads 2] [--filter TEXT] [--seconds 1] [--paths avx2,avx512] [--jsonl OUT]
"""
import argparse
import json
import os
import subprocess
import sys

from compare import MALLOC_KEEPS_MEMORY, TORCH_PATH_ENV, compare

HERE = os.path.dirname(os.path.abspath(__file__))


def run(command, env_extra):
    env = dict(os.environ, GLIBC_TUNABLES=MALLOC_KEEPS_MEMORY, **env_extra)
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the build directory (holds bench/layers and bench/train_step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--paths", help="CPU paths, e.g. avx2,avx512 (default: every one this CPU runs)")
    parser.add_argument("--jsonl", help="also write every measurement here, one JSON object per line")
    args = parser.parse_args()

    common = ["--threads", str(args.threads), "--seconds", str(args.seconds), "--filter", args.filter]
    ours = [os.path.join(args.build, "bench", "layers")] + common
    theirs = [sys.executable, os.path.join(HERE, "torch_layers.py")] + common
    paths = args.paths.split(",") if args.paths else subprocess.run(
        [os.path.join(args.build, "bench", "train_step"), "--list-paths"], check=True, capture_output=True,
        text=True).stdout.split()
    everything = []
    for path in paths:
        a, b = run(ours + ["--paths", path], {}), run(theirs, TORCH_PATH_ENV[path])
        for row in b:
            row["path"] = path
        compare(a, b)
        sys.stdout.flush()
        everything += a + b
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in everything)


if __name__ == "__main__":
    main()
