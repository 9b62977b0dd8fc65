#!/usr/bin/python3
"""Times PyTorch on bench/train_step's cases (float32, 3x32x32 input), one JSON line per case.

Run with Debian's python3-torch: bench/torch_train.py --threads 2 [--case NAME]
The models are the ones tests/fixtures/make_model_fixtures.py rebuilds in plain PyTorch with
minidl's parameter names (resnet20: BasicBlocks, preresnet29: pre-activation bottlenecks; GN with
8 groups). A training step: forward, mean cross-entropy, backward, SGD(momentum 0.9, weight decay
5e-4). Inference: eval mode under torch.no_grad(). peak_rss_mb is the process's peak resident
memory so far (getrusage).
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_model_fixtures import ResNet  # noqa: E402


def all_cases():
    cases = []
    for arch in ("resnet20", "preresnet29"):
        for norm in ("bn", "gn"):
            cases += [(f"train_{arch}_{norm}_b{b}", arch, norm, b, True) for b in (8, 32, 128)]
            cases += [(f"infer_{arch}_{norm}_b{b}", arch, norm, b, False) for b in (32, 128)]
    return cases


def median_seconds(run, warmup, min_runs, min_seconds):
    for _ in range(warmup):
        run()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def time_case(arch, norm, batch, train, min_runs, min_seconds):
    model = ResNet(arch, norm)
    images = torch.randn(batch, 3, 32, 32)
    labels = torch.arange(batch) % 10
    if not train:
        model.eval()

        def infer():
            with torch.no_grad():
                model(images)
        return median_seconds(infer, 3, min_runs, min_seconds)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        opt.step()
    return median_seconds(step, 3, min_runs, min_seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--case", default="")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cases = all_cases()
    if args.list:
        print("\n".join(c[0] for c in cases))
        return
    if args.case and args.case not in [c[0] for c in cases]:
        sys.exit(f"torch_train.py: no case named '{args.case}' (see --list)")
    for name, arch, norm, batch, train in cases:
        if (args.case and name != args.case) or args.filter not in name:
            continue
        s = time_case(arch, norm, batch, train, args.runs, args.seconds)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"case": name, "img_s": round(batch / s, 1), "ms": round(1e3 * s, 2), "impl": "torch",
                          "threads": args.threads, "peak_rss_mb": round(rss, 1)}), flush=True)


if __name__ == "__main__":
    main()
