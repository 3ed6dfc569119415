#!/usr/bin/env bash
# The main job on a fresh machine: makes sure Fashion-MNIST is installed, builds Lethe, and runs the demo
# (pretrain a MoCo encoder, audit, unlearn 20% of its members, audit, retrain from scratch, audit, report).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-data.sh"
exec "$root/lethe" demo "$@"
