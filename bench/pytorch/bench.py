#!/usr/bin/env python3
"""The PyTorch side of Lethe's side-by-side bench (bench/side-by-side.sh).

Builds the architectures Lethe builds (the small CNN of the overfit preset, the CIFAR ResNet-18 of the paper preset,
each with its projection head) and times one case the way `dotnet bench/Lethe.Bench -- --case NAME` times it: random
inputs, no augmentation, warm-up, then as many steps as fit in the run length. Prints one JSON line.

    OPENBLAS_NUM_THREADS=1 python3 bench/pytorch/bench.py --case simclr-step-small-cnn --threads 2 --seconds 10
"""
import argparse
import json
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def small_cnn(channels=1, size=28, width=32, feature_dim=256):
    """Lethe's SmallCnn (Models/SmallCnn.cs): three conv-BN-ReLU blocks, two max-pools, a Linear-ReLU to the features."""
    w = width
    return nn.Sequential(
        nn.Conv2d(channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(),
        nn.Flatten(), nn.Linear(4 * w * (size // 4) * (size // 4), feature_dim), nn.ReLU())


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


def resnet18(channels=3, width=64):
    """Lethe's ResNet18 (Models/ResNet18.cs) with the CIFAR stem: 3x3 convolution, stride 1, no max-pool."""
    w = width
    layers = [nn.Conv2d(channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
    for i, (inp, out, stride) in enumerate([(w, w, 1), (w, 2 * w, 2), (2 * w, 4 * w, 2), (4 * w, 8 * w, 2)]):
        layers += [BasicBlock(inp, out, stride), BasicBlock(out, out, 1)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers), 8 * w


def head(inp, hidden, out):
    """Lethe's projection head (Backbones.Mlp, batch norm on the hidden layer)."""
    return nn.Sequential(nn.Linear(inp, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out))


def nt_xent(z1, z2, temperature):
    """Lethe's NtXent.Loss."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, partner)


def penalty(model, x):
    """Lethe's GradientPenalty.AtSamples: mean over samples of (||d sum(D(x)) / dx||_2 - 1)^2, kept for double backward."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# name: (model, batch, channels, size, kind, temperature, learning rate); the settings of Lethe's presets.
CASES = {
    "simclr-step-small-cnn": ("small-cnn", 64, 1, 28, "step", 0.1, 1e-3),
    "memgp-step-small-cnn": ("small-cnn", 64, 1, 28, "memgp", 0.1, 1e-3),
    "simclr-step-resnet18-b32": ("resnet18", 32, 3, 32, "step", 0.5, 0.01),
    "simclr-step-resnet18-b128": ("resnet18", 128, 3, 32, "step", 0.5, 0.01),
    "inference-resnet18-b256": ("resnet18", 256, 3, 32, "inference", 0.5, 0.01),
    "inference-small-cnn-b256": ("small-cnn", 256, 1, 28, "inference", 0.1, 1e-3),
}


def build(name):
    if name == "small-cnn":
        return nn.Sequential(small_cnn(), head(256, 256, 128))
    backbone, features = resnet18()
    return nn.Sequential(backbone, head(features, 2048, 128))


def blas_library():
    """The BLAS library this process loaded (Debian's python3-torch links libblas.so.3, whichever provides it)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
    return ", ".join(sorted(paths)) or "none loaded"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", required=True, choices=sorted(CASES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up steps")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of timed steps")
    parser.add_argument("--min-steps", type=int, default=1, help="timed steps at least, however long they take")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    arch, batch, channels, size, kind, temperature, lr = CASES[args.case]
    model = build(arch)
    v1, v2 = torch.rand(batch, channels, size, size), torch.rand(batch, channels, size, size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def step():
        if kind == "inference":
            with torch.no_grad():
                model(v1)
            return
        optimizer.zero_grad()
        loss = nt_xent(model(v1), model(v2), temperature)
        if kind == "memgp":
            loss = loss + penalty(model, v1)
        loss.backward()
        optimizer.step()

    model.train(kind != "inference")
    end = time.perf_counter() + args.warmup
    step()
    while time.perf_counter() < end:
        step()
    steps, start = 0, time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds and steps >= args.min_steps:
            break
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "case": args.case, "threads": args.threads,
        "batch": batch, "steps": steps, "seconds": round(elapsed, 3), "images_per_second": round(steps * batch / elapsed, 1),
        "blas": blas_library(),
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
