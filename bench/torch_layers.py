#!/usr/bin/python3
"""Times PyTorch on bench/layers' cases (float32), one JSON line per case, same format.

Run with Debian's python3-torch: bench/torch_layers.py --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def time_ms(run, min_runs=5, min_seconds=1.0):
    for _ in range(2):
        run()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def pair(cases, prefix, shape, layer, fwd_flops=0.0):
    x = torch.randn(shape)
    xg = x.clone().requires_grad_()
    grad = layer(x).detach().normal_()

    def fwd():
        with torch.no_grad():
            layer(x)

    def fwdbwd():
        xg.grad = None
        for p in layer.parameters():
            p.grad = None
        layer(xg).backward(grad)

    dims = "x".join(map(str, shape))
    cases.append((f"{prefix}_fwd_{dims}", fwd, fwd_flops))
    cases.append((f"{prefix}_fwdbwd_{dims}", fwdbwd, 3 * fwd_flops))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    cases = []
    pair(cases, "conv3x3", (32, 64, 32, 32), torch.nn.Conv2d(64, 64, 3, 1, 1, bias=False),
         2.0 * 32 * 64 * 32 * 32 * 64 * 9)
    for shape, groups in (((32, 64, 32, 32), 32), ((128, 16, 32, 32), 8)):
        pair(cases, "gn", shape, torch.nn.GroupNorm(groups, shape[1]))
        pair(cases, "bn", shape, torch.nn.BatchNorm2d(shape[1]))

    for name, run, flops in cases:
        if args.filter not in name:
            continue
        ms = time_ms(run, 5, args.seconds)
        row = {"case": name, "ms": round(ms, 3), "impl": "torch", "threads": args.threads}
        if flops:
            row["gflops"] = round(flops / ms / 1e6, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
