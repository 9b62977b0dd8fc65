#!/usr/bin/python3
"""Data-parallel scaling of `train` on this machine: resnet20 on Fashion-MNIST for a fixed number
of steps, one rank against N ranks under mpirun, each rank on --threads threads, and the
all-reduce time with the gradients reduced during backward (overlapped) and after it.

    /usr/bin/python3 bench/data_parallel.py build --ranks 2 --steps 60

Prints a Markdown table (the CPU named) and writes --jsonl rows. img/s is train's own figure
for the epoch (every rank's images). Needs only Python's standard library and mpirun.
"""
import argparse
import json
import os
import re
import subprocess
import sys


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        name = re.search(r"model name\s*:\s*(.*)", text).group(1).strip()
        flags = re.search(r"flags\s*:\s*(.*)", text).group(1).split()
        isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16") if f in flags]
        return f"{name} ({os.cpu_count()} CPUs; {', '.join(isa)})"
    except (OSError, AttributeError):
        return "unknown CPU"


def run(build, ranks, threads, batch, steps, extra):
    command = [f"{build}/bin/train", "--arch", "resnet20", "--norm", "gn", "--batch", str(batch), "--epochs", "1",
               "--max-steps", str(steps), "--limit-train", str(batch * ranks * steps), "--limit-test", "64",
               "--threads", str(threads), "--schedule", "none", "--lr", "0.02"] + extra
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-np", str(ranks)] + command
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"data_parallel.py: {' '.join(command)} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    epoch = re.search(r"epoch 1: .*\| (\d+) img/s, ([\d.]+) s", out.stdout)
    reduce = re.search(r"all-reduce: (\d+) buckets, ([\d.]+) MB per step; ([\d.]+) s reducing in (\d+) steps, of which "
                       r"([\d.]+) s waited", out.stdout)
    row = {"ranks": ranks, "threads": threads, "batch_per_rank": batch, "steps": steps,
           "images_per_second": float(epoch.group(1)), "seconds": float(epoch.group(2)), "options": " ".join(extra)}
    if reduce:
        row.update(buckets=int(reduce.group(1)), reduce_seconds=float(reduce.group(3)),
                   wait_seconds=float(reduce.group(5)))
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build", help="the build directory (holds bin/train)")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="threads per rank")
    p.add_argument("--batch", type=int, default=32, help="images per rank per step")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--jsonl", help="write the rows here")
    a = p.parse_args()
    rows = [run(a.build, 1, a.threads, a.batch, a.steps, []),
            run(a.build, 1, a.threads * a.ranks, a.batch * a.ranks, a.steps, []),
            run(a.build, a.ranks, a.threads, a.batch, a.steps, []),  # 25 MB buckets: one for resnet20
            run(a.build, a.ranks, a.threads, a.batch, a.steps, ["--bucket-mb", "0.25"]),
            run(a.build, a.ranks, a.threads, a.batch, a.steps, ["--bucket-mb", "0.25", "--no-overlap"])]
    base = rows[0]["images_per_second"]
    print(f"resnet20 GN training, {a.steps} steps, {a.batch} images per rank per step — {cpu_model()}\n")
    print("| ranks x threads | global batch | options | img/s | vs 1 x {} | all-reduce s (waited after backward) |".format(
        a.threads))
    print("|---|---|---|---|---|---|")
    for r in rows:
        comm = f"{r['reduce_seconds']:.3f} ({r['wait_seconds']:.3f}), {r['buckets']} buckets" if "buckets" in r else "-"
        print(f"| {r['ranks']} x {r['threads']} | {r['batch_per_rank'] * r['ranks']} | {r['options'] or '-'} | "
              f"{r['images_per_second']:.0f} | {r['images_per_second'] / base:.2f}x | {comm} |")
    if a.jsonl:
        with open(a.jsonl, "w") as f:
            for r in rows:
                f.write(json.dumps(dict(r, cpu=cpu_model())) + "\n")


if __name__ == "__main__":
    main()
