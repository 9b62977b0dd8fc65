#!/usr/bin/python3
"""Reads JSON lines from minidl's and PyTorch's benchmarks and prints them side by side.

bench/compare.py minidl.jsonl torch.jsonl
The ratio is PyTorch's time / minidl's time: above 1 means minidl is faster.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {row["case"]: row for row in map(json.loads, filter(str.strip, f))}


def main():
    ours, theirs = load(sys.argv[1]), load(sys.argv[2])
    print(f"{'case':32} {'minidl ms':>10} {'torch ms':>10} {'speedup':>8}  minidl / torch")
    for name, row in ours.items():
        ref = theirs.get(name)
        torch_ms = f"{ref['ms']:10.3f}" if ref else f"{'-':>10}"
        ratio = f"{ref['ms'] / row['ms']:7.2f}x" if ref else f"{'-':>8}"
        flops = f"  {row['gflops']} / {ref['gflops']} GFLOP/s" if ref and "gflops" in row else ""
        bandwidth = f"  {row['gb_per_s']} / {ref['gb_per_s']} GB/s" if ref and "gb_per_s" in row else ""
        print(f"{name:32} {row['ms']:10.3f} {torch_ms} {ratio}{flops}{bandwidth}")


if __name__ == "__main__":
    main()
