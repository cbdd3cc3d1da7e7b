#!/usr/bin/env bash
# Set up, build, and run the main job: CloudMatrix 384 vs GB200 NVL72 on the built-in catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-python.sh
export PATH="$PWD/.venv/bin:$PATH"
if perfmodel compare --help >/dev/null 2>&1; then
  perfmodel compare huawei-cloudmatrix-384 nvidia-gb200-nvl72
else
  # Until the catalog lands: the version and a unit round-trip.
  perfmodel --version
  perfmodel units "3.35 TB/s" "400 Gb/s" "80 GiB"
fi
