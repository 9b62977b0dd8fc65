#!/usr/bin/python3
"""Reads JSON lines from minidl's and PyTorch's benchmarks and prints them side by side.

bench/compare.py minidl.jsonl torch.jsonl
The ratio is PyTorch's time / minidl's time: above 1 means minidl is faster. minidl's file holds
a block per CPU path (bench/layers: a header line with the CPU and the path's FMA peak, then the
cases); each block is compared with the same PyTorch run.
"""
import json
import sys


# glibc's malloc told to keep freed memory, for both sides (bench/train_compare.py explains why:
# PyTorch hands large blocks back to the kernel and faults them in again on every call otherwise).
MALLOC_KEEPS_MEMORY = "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"

# PyTorch held to the same instructions as a minidl CPU path, as on a CPU that has no more: ATen's
# own kernels (ATEN_CPU_CAPABILITY), oneDNN's convolutions (ONEDNN_MAX_CPU_ISA) and OpenBLAS.
TORCH_PATH_ENV = {
    "avx512": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"},
    "generic": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "OPENBLAS_CORETYPE": "Prescott"},
}


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    compare(rows(sys.argv[1]), rows(sys.argv[2]))


def compare(ours, theirs):
    theirs = {row["case"]: row for row in theirs if "case" in row}
    for row in ours:
        if "case" not in row:  # a path's header line
            peak = row.get("peak_gflops_per_core")
            print(f"\n{row.get('cpu', '')} — path {row.get('path', '?')}"
                  + (f", FMA peak {peak} GFLOP/s per core" if peak else "") + f", {row.get('threads')} threads")
            print(f"{'case':32} {'minidl ms':>10} {'torch ms':>10} {'speedup':>8}  minidl / torch")
            continue
        ref = theirs.get(row["case"])
        torch_ms = f"{ref['ms']:10.3f}" if ref else f"{'-':>10}"
        ratio = f"{ref['ms'] / row['ms']:7.2f}x" if ref else f"{'-':>8}"
        flops = f"  {row['gflops']} / {ref['gflops']} GFLOP/s" if ref and "gflops" in row else ""
        of_peak = f" ({row['of_peak']:.0%} of peak)" if "of_peak" in row else ""
        bandwidth = f"  {row['gb_per_s']} / {ref['gb_per_s']} GB/s" if ref and "gb_per_s" in row else ""
        print(f"{row['case']:32} {row['ms']:10.3f} {torch_ms} {ratio}{flops}{of_peak}{bandwidth}")


if __name__ == "__main__":
    main()
