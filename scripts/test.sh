#!/usr/bin/env bash
# Runs the test suite (Release), skipping tests marked Category=Slow, and ends with the line
# "N passed, N failed, N skipped" read from the test results.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results="$root/.build/test-results"
rm -rf "$results"
dotnet test Lethe.slnx -c Release --filter "Category!=Slow" \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
code=$?
trx=$(find "$results" -name '*.trx' 2>/dev/null | head -n 1)
if [[ -n "$trx" ]]; then
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$(get passed); failed=$(get failed); total=$(get total); executed=$(get executed)
  skipped=$(( ${total:-0} - ${executed:-0} ))
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
else
  echo "0 passed, 1 failed (no test results were written)"
  [[ $code -eq 0 ]] && code=1
fi
exit $code
