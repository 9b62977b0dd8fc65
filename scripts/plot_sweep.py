#!/usr/bin/python3
"""Draws the GroupNorm paper's figure 1 from examples/sweep's per-run CSVs: test error vs images per
worker (decreasing to the right), one line per normalization, the mean over the seeds with error
bars from the smallest to the largest run. Several CSVs are read as one (the norms run side by
side in two processes: sweep --norms bn, sweep --norms gn); the table of means, spreads and runs
per point is printed as Markdown.

scripts/plot_sweep.py sweep.csv [more.csv ...] sweep.png [--summary summary.csv] [--title TEXT]
(Debian's python3-matplotlib)
"""
import argparse
import csv
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="per-run CSVs of examples/sweep, then the PNG to write")
    parser.add_argument("--summary", help="also write mean, std, min and max per point as CSV here")
    parser.add_argument("--title", help="the figure's title (say the model, data and epochs)")
    args = parser.parse_args()
    if len(args.files) < 2 or not args.files[-1].endswith(".png"):
        parser.error("expected one or more CSVs and then a .png")
    errors = {}  # (norm, images per worker) -> test errors in %
    workers, point_workers = set(), {}
    for path in args.files[:-1]:
        with open(path) as f:
            for row in csv.DictReader(f):
                errors.setdefault((row["norm"], int(row["images_per_worker"])), []).append(100 * float(row["test_error"]))
                w = int(row["total_batch"]) // int(row["images_per_worker"])
                workers.add(w)
                point_workers[(row["norm"], int(row["images_per_worker"]))] = w
    points = sorted(errors.items(), key=lambda kv: (kv[0][0], -kv[0][1]))
    print("| norm | images per worker | runs | mean test error | std | min | max |")
    print("|---|---|---|---|---|---|---|")
    for (norm, b), runs in points:
        sd = statistics.stdev(runs) if len(runs) > 1 else 0.0
        print(f"| {norm} | {b} | {len(runs)} | {statistics.mean(runs):.2f} % | {sd:.2f} | {min(runs):.2f} | {max(runs):.2f} |")
    if args.summary:  # the columns of sweep's own summary CSV, errors as fractions
        with open(args.summary, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["norm", "images_per_worker", "workers", "runs", "mean_test_error", "std_test_error", "min_test_error",
                          "max_test_error"])
            for (norm, b), runs in points:
                sd = statistics.stdev(runs) if len(runs) > 1 else 0.0
                stats = (statistics.mean(runs), sd, min(runs), max(runs))
                out.writerow([norm, b, point_workers[(norm, b)], len(runs)] + [f"{v / 100:.6g}" for v in stats])
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
    if args.title:
        ax.set_title(args.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.files[-1], dpi=120)


if __name__ == "__main__":
    main()
