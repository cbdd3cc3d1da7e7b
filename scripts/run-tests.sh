#!/usr/bin/env bash
# Set up, build, and run every test: C++ (Catch2 via CTest, header, compile-fail and consumer
# tests) and Python (pytest against the pip-installed package).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
JOBS=${JOBS:-$(nproc)}

echo "== C++: configure, build, test (preset dev) =="
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$JOBS"
ctest --preset dev -j "$JOBS"

echo "== Python: install and test =="
bash scripts/install-python.sh
.venv/bin/python -m pytest tests/python
