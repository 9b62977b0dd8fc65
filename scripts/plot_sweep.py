#!/usr/bin/python3
"""Draws the GroupNorm paper's figure 1 from examples/sweep's per-run CSVs: test error vs images per
worker (decreasing to the right), one line per normalization, the mean over the seeds with error
bars from the smallest to the largest run. Several CSVs are read as one (the norms run side by
side in two processes: sweep --norms bn, sweep --norms gn); the table of means, spreads and runs
per point is printed as Markdown.

scripts/plot_sweep.py sweep.csv [more.csv ...] sweep.png     (Debian's python3-matplotlib)
"""
import csv
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 3 or not sys.argv[-1].endswith(".png"):
        sys.exit(__doc__)
    errors = {}  # (norm, images per worker) -> test errors in %
    workers = set()
    for path in sys.argv[1:-1]:
        with open(path) as f:
            for row in csv.DictReader(f):
                errors.setdefault((row["norm"], int(row["images_per_worker"])), []).append(100 * float(row["test_error"]))
                workers.add(int(row["total_batch"]) // int(row["images_per_worker"]))
    print("| norm | images per worker | runs | mean test error | std | min | max |")
    print("|---|---|---|---|---|---|---|")
    for (norm, b), runs in sorted(errors.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        sd = statistics.stdev(runs) if len(runs) > 1 else 0.0
        print(f"| {norm} | {b} | {len(runs)} | {statistics.mean(runs):.2f} % | {sd:.2f} | {min(runs):.2f} | {max(runs):.2f} |")
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    labels = {"bn": "BatchNorm", "gn": "GroupNorm", "none": "no norm"}
    for norm in sorted({n for n, _ in errors}):
        sizes = sorted((b for n, b in errors if n == norm), reverse=True)
        runs = [errors[(norm, b)] for b in sizes]
        mean = [statistics.mean(r) for r in runs]
        low = [m - min(r) for m, r in zip(mean, runs)]
        high = [max(r) - m for m, r in zip(mean, runs)]
        ax.errorbar(sizes, mean, yerr=[low, high], marker="o", capsize=3, label=labels.get(norm, norm))
    sizes = sorted({b for _, b in errors}, reverse=True)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(b) for b in sizes])
    ax.invert_xaxis()
    ax.set_xlabel("images per worker" + (f" ({workers.pop()} workers)" if len(workers) == 1 else ""))
    ax.set_ylabel("test error (%)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[-1], dpi=120)


if __name__ == "__main__":
    main()
