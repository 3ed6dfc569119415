#!/usr/bin/env bash
# Installs what the demo and the tests read from the system when it is missing: the default data set
# (Fashion-MNIST, Debian package dataset-fashion-mnist) and the font the report's figures are drawn with
# (DejaVu Sans, fonts-dejavu-core).
set -euo pipefail
folder=/usr/share/datasets/fashion-mnist
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
packages=()
[[ -f "$folder/train-images-idx3-ubyte.gz" ]] || packages+=(dataset-fashion-mnist)
[[ -f "$font" ]] || packages+=(fonts-dejavu-core)
[[ ${#packages[@]} -eq 0 ]] && exit 0
install=(apt-get install -y -q "${packages[@]}")
if [[ $(id -u) -eq 0 ]]; then
  echo "Installing ${packages[*]}..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  "${install[@]}" >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "Installing ${packages[*]} with sudo..." >&2
  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  sudo -n env DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
else
  echo "error: missing ${packages[*]}; run: sudo apt-get install ${packages[*]}" >&2
  exit 1
fi
[[ -f "$folder/train-images-idx3-ubyte.gz" ]] || { echo "error: dataset-fashion-mnist installed, but $folder has no train-images-idx3-ubyte.gz" >&2; exit 1; }
[[ -f "$font" ]] || { echo "warning: fonts-dejavu-core installed, but $font is missing; figures fall back to SkiaSharp's default font" >&2; }
