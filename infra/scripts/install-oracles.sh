#!/usr/bin/env bash
# Installs the independent peers the tests compare against (Debian packages; never part of the product).
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c "import skimage, scipy, tifffile, zarr, numcodecs, sklearn" 2>/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq python3-skimage python3-scipy python3-tifffile python3-zarr python3-sklearn >/dev/null
"$PY" -c "import skimage, scipy, tifffile, zarr, numcodecs, sklearn; print('oracles: scikit-image', skimage.__version__, 'scipy', scipy.__version__, 'zarr', zarr.__version__)"
