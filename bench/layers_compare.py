#!/usr/bin/python3
"""Runs bench/layers (minidl) and bench/torch_layers.py (PyTorch) on each CPU path this machine
runs — minidl with --paths P, PyTorch held to the same instruction set (compare.py's
TORCH_PATH_ENV) — and prints a table per path: times, the ratio PyTorch / minidl (above 1: minidl
is faster), GFLOP/s and, for minidl, the fraction of the path's FMA peak (counted in the direct
convolution's flops: a Winograd convolution can pass 100 %). Both run with glibc's malloc told to
keep freed memory (compare.py's MALLOC_KEEPS_MEMORY), as in bench/train_compare.py. Each side
runs --rounds times per path, alternating (ABBA), and each case shows its median run's row.

bench/layers_compare.py BUILD_DIR [--threads 2] [--filter TEXT] [--seconds 1] [--rounds 3] [--paths avx2,avx512]
                        [--jsonl OUT]
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


def median_rows(runs):
    """The rows of the first run with each case's row replaced by its median-time run's (the lower
    median for an even count)."""
    by_case = {}
    for run in runs:
        for row in run:
            if "case" in row:
                by_case.setdefault(row["case"], []).append(row)
    return [sorted(by_case[row["case"]], key=lambda r: r["ms"])[(len(by_case[row["case"]]) - 1) // 2]
            if "case" in row else row for row in runs[0]]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build", help="the build directory (holds bench/layers and bench/train_step)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs per path and side, alternating (median)")
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
        ours_runs, theirs_runs = [], []
        sides = [(ours + ["--paths", path], {}, ours_runs), (theirs, TORCH_PATH_ENV[path], theirs_runs)]
        for r in range(args.rounds):
            for command, env, runs in sides if r % 2 == 0 else sides[::-1]:  # ABBA: neither always first
                runs.append(run(command, env))
        for row in (row for rows in theirs_runs for row in rows):
            row["path"] = path
        print(f"\n(each row: the median of {args.rounds} runs)", end="")
        compare(median_rows(ours_runs), median_rows(theirs_runs))
        sys.stdout.flush()
        everything += [row for rows in ours_runs + theirs_runs for row in rows]
    if args.jsonl:
        with open(args.jsonl, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in everything)


if __name__ == "__main__":
    main()
