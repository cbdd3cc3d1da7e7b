#!/usr/bin/env bash
# Builds and installs the perfmodel Python package into ./.venv (incremental: the CMake build
# directory build/py-* is reused between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation . 2>&1 \
  | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import perfmodel" 
