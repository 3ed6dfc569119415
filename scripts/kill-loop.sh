#!/usr/bin/env bash
# Crash safety of `lethe requests process`, measured: a store with three pending requests (the third repeats a sample
# of the first) is processed while this script kills the process with SIGKILL at random moments, again and again, until
# a run finishes by itself. Each trial must end with every request processed exactly once, `requests verify` clean, and
# the final model's weights equal to an uninterrupted run's (the SHA-256 of the checkpoint's model.bin). Prints one line
# per trial and a summary, and writes both to OUT (default .build/kill-loop/results.md).
#
#   scripts/kill-loop.sh [TRIALS=20] [OUT]
#
# Needs Fashion-MNIST (scripts/ensure-data.sh). About 5 minutes on 2 cores for 20 trials.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trials="${1:-20}"
work="$root/.build/kill-loop"
out="${2:-$work/results.md}"
lethe="$root/lethe"
threads=2
rm -rf "$work/stores"
mkdir -p "$work/stores"

"$lethe" --version >/dev/null  # builds once, before anything is timed
if [[ ! -f "$work/run/final.ckpt" ]]; then
  "$lethe" pretrain --method simclr --preset tiny --members 48 --non-members 48 --epochs 2 --seed 7 --out "$work/run" --threads "$threads" >/dev/null
fi
members=$(sed -n 's/.*"members": \[\([0-9,]*\)\].*/\1/p' "$work/run/split.json" | tr ',' '\n')
pick() { sed -n "$1p" <<<"$members"; }
printf '%s\n' "$(pick 1)" "$(pick 2)" "$(pick 3)" "$(pick 4)" >"$work/r1.txt"
printf '%s\n' "$(pick 6)" "$(pick 7)" "$(pick 8)" >"$work/r2.txt"
printf '%s\n' "$(pick 2)" "$(pick 10)" "$(pick 11)" "$(pick 12)" >"$work/r3.txt"
template="$work/stores/template"
"$lethe" store init --store "$template" --from "$work/run" --threads "$threads" >/dev/null
for r in 1 2 3; do "$lethe" requests add --store "$template" --forget-list "$work/r$r.txt" --reference "kill-loop-$r" >/dev/null; done

final_model() { "$lethe" requests list --store "$1" --json | grep -o '"modelSha256": "[0-9a-f]*"' | tail -n 1 | cut -d '"' -f 4; }
outcome_count() { "$lethe" requests list --store "$1" --json | grep -o '"certificateSha256"' | wc -l; }
version_count() { "$lethe" requests list --store "$1" --json | grep -o '"modelSha256"' | wc -l; }

# The uninterrupted reference, timed: kills fall uniformly between 0.3 s and its duration.
cp -r "$template" "$work/stores/reference"
start=$(date +%s.%N)
"$lethe" requests process --store "$work/stores/reference" --threads "$threads" >/dev/null
span=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
reference=$(final_model "$work/stores/reference")
echo "uninterrupted run: ${span%.*} s; final model.bin SHA-256 $reference"
[[ ${#reference} == 64 ]] || { echo "could not read the final version's weights hash"; exit 1; }

total_kills=0; completed=0; identical=0; exact=0; clean=0; recovered_files=0
lines=()
for trial in $(seq 1 "$trials"); do
  store="$work/stores/trial-$trial"
  cp -r "$template" "$store"
  kills=0
  log="$work/stores/trial-$trial.log"
  : >"$log"
  while :; do
    "$lethe" requests process --store "$store" --threads "$threads" >>"$log" 2>&1 &
    pid=$!
    delay=$(awk -v s="$span" -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (s - 0.3) * r / 32767 }')
    sleep "$delay"
    if kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      kills=$((kills + 1))
      continue
    fi
    if wait "$pid"; then break; fi
    echo "trial $trial: process failed after $kills kills:"; cat "$log"; exit 1
  done
  # Every line where a run reported a file an interrupted run left, and removed it.
  recovered=$(grep -cE '^(removed|updated) ' "$log" || true)
  # A last run must find nothing left to do, and the store must verify.
  "$lethe" requests process --store "$store" | grep -q "No pending requests." || { echo "trial $trial: requests left pending"; exit 1; }
  verified=no
  "$lethe" requests verify --store "$store" >/dev/null 2>&1 && verified=yes
  model=$(final_model "$store")
  outcomes=$(outcome_count "$store")
  versions=$(version_count "$store")
  same=no; [[ "$model" == "$reference" ]] && same=yes
  completed=$((completed + 1)); total_kills=$((total_kills + kills)); recovered_files=$((recovered_files + recovered))
  [[ $same == yes ]] && identical=$((identical + 1))
  [[ $outcomes == 3 && $versions == 4 ]] && exact=$((exact + 1))
  [[ $verified == yes ]] && clean=$((clean + 1))
  line="| $trial | $kills | $recovered | $outcomes | $versions | $verified | $same |"
  lines+=("$line")
  echo "$line"
  rm -rf "$store"
done

{
  echo "# Kill loop: $(date -u +%Y-%m-%d), $(nproc) cores, $trials trials"
  echo
  echo "Store: SimCLR tiny preset (48 members), 3 requests of 4, 3 and 4 samples (one repeated). Uninterrupted run ${span%.*} s;"
  echo "kills uniformly between 0.3 s and that. Final model.bin SHA-256 of the uninterrupted run: \`$reference\`."
  echo
  echo "| trial | kills | leftovers the reruns cleaned up | requests processed | versions | verify | final model identical |"
  echo "| ---: | ---: | ---: | ---: | ---: | --- | --- |"
  printf '%s\n' "${lines[@]}"
  echo
  echo "Summary: $trials trials, $total_kills kills, $completed completions, $exact with every request processed exactly once (3 outcomes, 4 versions),"
  echo "$clean verified clean, $identical with the final model bit-identical to the uninterrupted run's; $recovered_files leftovers cleaned up and reported."
} >"$out"
tail -n 2 "$out"
