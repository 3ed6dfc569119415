#!/usr/bin/env python3
"""Summarises a side-by-side run (bench/side-by-side.sh): median and range of images/s per case and configuration, and
Lethe's ratio to PyTorch's best configuration. Writes a Markdown table with the machine's description to OUT and into
docs/performance.md between its markers."""
import argparse
import json
import os
import platform
import statistics
import subprocess
from collections import defaultdict

BEGIN, END = "<!-- side-by-side: begin -->", "<!-- side-by-side: end -->"
CASES = {
    "simclr-step-small-cnn": "SimCLR step, small CNN (overfit preset), batch 64",
    "memgp-step-small-cnn": "MemGP step (loss + double backward), small CNN, batch 64",
    "simclr-step-resnet18-b32": "SimCLR step, ResNet-18 (CIFAR), batch 32",
    "simclr-step-resnet18-b128": "SimCLR step, ResNet-18 (CIFAR), batch 128",
    "inference-resnet18-b256": "encoder inference, ResNet-18, batch 256, eval",
    "inference-small-cnn-b256": "encoder inference, small CNN, batch 256, eval",
}


def machine():
    cpu = "unknown processor"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(l.split(":", 1)[1].strip() for l in info if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as info:
            line = next(l for l in info if l.startswith("flags"))
            flags = ", ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f" {f}" in line)
    except (OSError, StopIteration):
        pass
    dotnet = subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu} ({flags}), {os.cpu_count()} cores, {platform.platform()}, .NET SDK {dotnet}, Python {platform.python_version()}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("out")
    parser.add_argument("doc")
    for flag in ("rounds", "seconds", "warmup", "threads"):
        parser.add_argument(f"--{flag}", required=True)
    parser.add_argument("--only", default="all")
    parser.add_argument("--min-steps", default="1")
    args = parser.parse_args()
    values = defaultdict(list)
    versions = {}
    with open(args.results) as lines:
        for line in lines:
            row = json.loads(line)
            values[(row["result"]["case"], row["config"])].append(row["result"]["images_per_second"])
            versions[row["config"]] = row["result"].get("version", "")
    configs = [c for c in ("lethe", "pytorch-best", "pytorch-default") if any(k[1] == c for k in values)]

    def cell(case, config):
        v = values.get((case, config))
        if not v:
            return "–"
        return f"{statistics.median(v):,.0f} ({min(v):,.0f}–{max(v):,.0f})"

    header = ["case"] + [{"lethe": "Lethe", "pytorch-best": "PyTorch best (OpenBLAS, 1 BLAS thread)",
                          "pytorch-default": "PyTorch default (reference BLAS)"}[c] for c in configs]
    if "pytorch-best" in configs:
        header.append("Lethe / PyTorch best")
    table = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for case, label in CASES.items():
        if not any(k[0] == case for k in values):
            continue
        row = [label] + [cell(case, c) for c in configs]
        if "pytorch-best" in configs:
            lethe, best = values.get((case, "lethe")), values.get((case, "pytorch-best"))
            row.append(f"{statistics.median(lethe) / statistics.median(best):.2f}×" if lethe and best else "–")
        table.append("| " + " | ".join(row) + " |")
    text = "\n".join([
        f"Measured {os.path.basename(args.results)[len('side-by-side-'):][:10]} by `bench/side-by-side.sh {args.rounds} {args.seconds} {args.warmup} {args.threads}"
        f"{'' if args.only == 'all' and args.min_steps == '1' else ' ' + args.only}{'' if args.min_steps == '1' else ' ' + args.min_steps}`: "
        f"images/s, median of {args.rounds} rounds (range in brackets), each a fresh process timed for {args.seconds} s"
        f"{'' if args.min_steps == '1' else f' and at least {args.min_steps} steps'} after "
        f"{args.warmup} s of warm-up, {args.threads} threads, the frameworks alternating. Random inputs, no augmentation.",
        "",
        f"Machine: {machine()}.",
        f"Versions: Lethe on {versions.get('lethe', '?')} (libtorch 2.10); PyTorch {versions.get('pytorch-best') or versions.get('pytorch-default', '?')} (Debian python3-torch).",
        "",
        *table,
    ])
    with open(args.out, "w") as out:
        out.write(f"# Side-by-side bench\n\n{text}\n")
    page = ""
    if args.doc != "none":  # "none": a run of some cases only, which does not replace the page's table
        with open(args.doc) as doc:
            page = doc.read()
    if BEGIN in page and END in page:
        page = page[: page.index(BEGIN) + len(BEGIN)] + "\n" + text + "\n" + page[page.index(END):]
        with open(args.doc + ".tmp", "w") as doc:
            doc.write(page)
        os.replace(args.doc + ".tmp", args.doc)
    print(text)


if __name__ == "__main__":
    main()
