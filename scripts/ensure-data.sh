#!/usr/bin/env bash
# Installs the default data set (Fashion-MNIST, Debian package dataset-fashion-mnist) when it is missing.
set -euo pipefail
folder=/usr/share/datasets/fashion-mnist
[[ -f "$folder/train-images-idx3-ubyte.gz" ]] && exit 0
install=(apt-get install -y -q dataset-fashion-mnist)
if [[ $(id -u) -eq 0 ]]; then
  echo "Installing Fashion-MNIST (dataset-fashion-mnist)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  "${install[@]}" >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "Installing Fashion-MNIST (dataset-fashion-mnist) with sudo..." >&2
  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  sudo -n env DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
else
  echo "error: Fashion-MNIST is not installed at $folder; run: sudo apt-get install dataset-fashion-mnist" >&2
  exit 1
fi
[[ -f "$folder/train-images-idx3-ubyte.gz" ]] || { echo "error: dataset-fashion-mnist installed, but $folder has no train-images-idx3-ubyte.gz" >&2; exit 1; }
