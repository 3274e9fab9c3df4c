#!/usr/bin/env bash
# Installs the independent peers the tests compare against (Debian packages; never part of the product),
# and libzstd1, which the product's Zarr codec uses when present (the tests check it is used).
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c "import skimage, scipy, tifffile, zarr, numcodecs, sklearn" 2>/dev/null && ldconfig -p | grep -q 'libzstd.so.1 '; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq python3-skimage python3-scipy python3-tifffile python3-zarr python3-sklearn python3-pil libzstd1 >/dev/null
"$PY" -c "import skimage, scipy, tifffile, zarr, numcodecs, sklearn, PIL; print('oracles: scikit-image', skimage.__version__, 'scipy', scipy.__version__, 'zarr', zarr.__version__)"
