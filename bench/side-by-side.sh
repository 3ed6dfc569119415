#!/usr/bin/env bash
# Lethe against PyTorch on this machine, case by case: the same architectures, random inputs, threads, warm-up and run
# length (bench/Lethe.Bench --case, bench/pytorch/bench.py). Each measurement is a fresh process, and the frameworks
# alternate (Lethe, PyTorch best, PyTorch default, Lethe, ...) so that drift in the machine's load falls on all alike.
# Writes bench/results/side-by-side-DATE.{jsonl,md} and the table in docs/performance.md. A benchmark, not a test.
#
#   bench/side-by-side.sh [ROUNDS=3] [SECONDS=6] [WARMUP=2] [THREADS=2] [CASES=all] [MIN_STEPS=8]
#
# Each timed window lasts SECONDS and holds at least MIN_STEPS steps, so that the slow cases (a ResNet-18 step at batch
# 128 takes about 5 s here) are not timed on one or two steps.
#
# CASES (comma-separated case names) runs only those, for longer windows on the slow ResNet-18 training cases: it writes
# bench/results/side-by-side-DATE-CASES.{jsonl,md} and leaves docs/performance.md alone.
#
# PyTorch is Debian's python3-torch, in two configurations: "best" links Debian's OpenBLAS pthread build with
# OPENBLAS_NUM_THREADS=1 (package libopenblas0-pthread), "default" links Debian's reference BLAS (libblas3), what
# python3-torch gets when nothing else provides libblas.so.3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${1:-3}"; seconds="${2:-6}"; warmup="${3:-2}"; threads="${4:-2}"; only="${5:-all}"; min_steps="${6:-8}"
python=/usr/bin/python3
arch_dir="/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
openblas="$arch_dir/openblas-pthread"
reference="$arch_dir/blas"

if ! "$python" -c "import torch" 2>/dev/null; then
  echo "side-by-side: Debian's python3-torch is not installed here (apt-get install python3-torch); nothing to compare against" >&2
  exit 1
fi
configs=(lethe)
if [[ -f "$openblas/libblas.so.3" ]]; then configs+=(pytorch-best); else
  echo "side-by-side: no OpenBLAS pthread build ($openblas; apt-get install libopenblas0-pthread): PyTorch's best configuration is left out" >&2; fi
if [[ -f "$reference/libblas.so.3" ]]; then configs+=(pytorch-default); else
  echo "side-by-side: no reference BLAS ($reference; apt-get install libblas3): PyTorch's default configuration is left out" >&2; fi

echo "building bench/Lethe.Bench (Release)"
dotnet build "$root/bench/Lethe.Bench" -c Release --nologo -v:q >/dev/null
bench_dll=$(find "$root/bench/Lethe.Bench/bin/Release" -name Lethe.Bench.dll | head -n 1)
cases=(simclr-step-small-cnn memgp-step-small-cnn simclr-step-resnet18-b32 simclr-step-resnet18-b128 inference-resnet18-b256 inference-small-cnn-b256)
stamp=$(date -u +%Y-%m-%d)
out="$root/bench/results/side-by-side-$stamp"
doc="$root/docs/performance.md"
if [[ "$only" != all ]]; then
  for c in ${only//,/ }; do
    [[ " ${cases[*]} " == *" $c "* ]] || { echo "side-by-side: unknown case '$c'; the cases are: ${cases[*]}" >&2; exit 1; }
  done
  IFS=, read -r -a cases <<<"$only"
  out="$out-${only//,/-}"
  doc=none
fi
mkdir -p "$root/bench/results"
: >"$out.jsonl.tmp"

run() {
  local config=$1 case=$2 line
  case $config in
    lethe) line=$(dotnet "$bench_dll" --case "$case" --threads "$threads" --warmup "$warmup" --seconds "$seconds" --min-steps "$min_steps") ;;
    pytorch-best) line=$(OPENBLAS_NUM_THREADS=1 LD_LIBRARY_PATH="$openblas" "$python" "$root/bench/pytorch/bench.py" --case "$case" --threads "$threads" --warmup "$warmup" --seconds "$seconds" --min-steps "$min_steps") ;;
    pytorch-default) line=$(LD_LIBRARY_PATH="$reference" "$python" "$root/bench/pytorch/bench.py" --case "$case" --threads "$threads" --warmup "$warmup" --seconds "$seconds" --min-steps "$min_steps") ;;
  esac
  echo "{\"config\": \"$config\", \"round\": $round, \"result\": $line}" >>"$out.jsonl.tmp"
  printf '  %-28s %-16s %8s images/s\n' "$case" "$config" "$(sed -n 's/.*"images_per_second": *\([0-9.]*\).*/\1/p' <<<"$line")"
}

for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds"
  for case in "${cases[@]}"; do
    for config in "${configs[@]}"; do run "$config" "$case"; done
  done
done
mv "$out.jsonl.tmp" "$out.jsonl"
"$python" "$root/bench/pytorch/summarise.py" "$out.jsonl" "$out.md" "$doc" \
  --rounds "$rounds" --seconds "$seconds" --warmup "$warmup" --threads "$threads" --only "$only" --min-steps "$min_steps"
echo "wrote $out.jsonl and $out.md$([[ $doc == none ]] || echo " and the table in docs/performance.md")"
