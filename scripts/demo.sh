#!/usr/bin/env bash
# The main job on a fresh machine: makes sure Fashion-MNIST is installed, builds Lethe, and runs it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-data.sh"
exec "$root/lethe" data info --dataset fashion-mnist "$@"
