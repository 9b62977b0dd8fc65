#!/usr/bin/python3
"""Draws the batch-size figure from examples/sweep's CSV: test error vs batch size, one line per
normalization, batch sizes decreasing to the right as in the GroupNorm paper (Wu & He 2018, fig. 1).

scripts/plot_sweep.py sweep.csv sweep.png     (Debian's python3-matplotlib)
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    runs = {}
    with open(sys.argv[1]) as f:
        for row in csv.DictReader(f):
            runs.setdefault(row["norm"], []).append((int(row["batch"]), 100 * float(row["test_error"])))
    fig, ax = plt.subplots(figsize=(5, 3.6))
    labels = {"bn": "BatchNorm", "gn": "GroupNorm", "none": "no norm"}
    for norm, points in sorted(runs.items()):
        points.sort(reverse=True)
        ax.plot([b for b, _ in points], [e for _, e in points], marker="o", label=labels.get(norm, norm))
    ax.set_xscale("log", base=2)
    batches = sorted({b for points in runs.values() for b, _ in points}, reverse=True)
    ax.set_xticks(batches)
    ax.set_xticklabels([str(b) for b in batches])
    ax.invert_xaxis()
    ax.set_xlabel("batch size (images per worker)")
    ax.set_ylabel("test error (%)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)


if __name__ == "__main__":
    main()
