#!/usr/bin/python3
"""Times PyTorch on bench/layers' cases (float32), one JSON line per case, same format.

Run with Debian's python3-torch: bench/torch_layers.py --threads 2 (--device cuda on a GPU machine)
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


DEVICE = torch.device("cpu")


def wait():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def time_ms(run, min_runs=5, min_seconds=1.0):
    for _ in range(2):
        run()
    wait()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        run()
        wait()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


class NormAddRelu(torch.nn.Module):
    def __init__(self, norm, residual):
        super().__init__()
        self.norm, self.residual = norm, residual

    def forward(self, x):
        return torch.relu(self.norm(x) + self.residual.to(x.device))


def pair(cases, prefix, shape, layer, fwd_flops=0.0, fwd_bytes=0.0):
    layer = layer.to(DEVICE)
    x = torch.randn(shape, device=DEVICE)
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
    cases.append((f"{prefix}_fwd_{dims}", fwd, fwd_flops, fwd_bytes))
    cases.append((f"{prefix}_fwdbwd_{dims}", fwdbwd, 3 * fwd_flops, 3 * fwd_bytes))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default="")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--device", default="cpu", help="cpu | cuda[:N]: bench/layers' CPU cases or its GPU cases")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    gpu = DEVICE.type == "cuda"
    # minidl's cuDNN convolutions use FMA math, not TF32: compare like with like.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    cases = []
    # bench/layers' convolutions: resnet20's stages at batch 32, and 64 channels at 32x32.
    conv_shapes = [(128, 64, 32, 32)] if gpu else [(32, 64, 32, 32), (32, 16, 32, 32), (32, 32, 16, 16), (32, 64, 8, 8)]
    for n, c, h, w in conv_shapes:
        pair(cases, "conv3x3", (n, c, h, w), torch.nn.Conv2d(c, c, 3, 1, 1, bias=False), 2.0 * n * c * h * w * c * 9)
    if not gpu:  # resnet20's first downsampling convolution: 16 -> 32 channels, stride 2
        pair(cases, "conv3x3s2", (32, 16, 32, 32), torch.nn.Conv2d(16, 32, 3, 2, 1, bias=False), 2.0 * 32 * 32 * 16 * 16 * 16 * 9)
    norm_cases = (((32, 64, 32, 32), 32), ((128, 256, 14, 14), 32)) if gpu else (((32, 64, 32, 32), 32), ((128, 16, 32, 32), 8))
    for shape, groups in norm_cases:
        nbytes = 2.0 * 4 * shape[0] * shape[1] * shape[2] * shape[3]  # x read, y written (float32)
        pair(cases, "gn", shape, torch.nn.GroupNorm(groups, shape[1]), 0.0, nbytes)
        pair(cases, "bn", shape, torch.nn.BatchNorm2d(shape[1]), 0.0, nbytes)
    # relu(norm(x) + shortcut), where a ResNet block ends (minidl fuses it: bench/layers.cpp)
    shape = (32, 64, 32, 32)
    residual = torch.randn(shape, device=DEVICE)
    nbytes = 3.0 * 4 * residual.numel()
    pair(cases, "gn_add_relu", shape, NormAddRelu(torch.nn.GroupNorm(32, shape[1]), residual), 0.0, nbytes)
    pair(cases, "bn_add_relu", shape, NormAddRelu(torch.nn.BatchNorm2d(shape[1]), residual), 0.0, nbytes)

    for name, run, flops, nbytes in cases:
        if args.filter not in name:
            continue
        ms = time_ms(run, 5, args.seconds)
        row = {"case": name, "ms": round(ms, 3), "impl": "torch", "device": str(DEVICE), "threads": args.threads}
        if flops:
            row["gflops"] = round(flops / ms / 1e6, 1)
        if nbytes:
            row["gb_per_s"] = round(nbytes / ms / 1e6, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
