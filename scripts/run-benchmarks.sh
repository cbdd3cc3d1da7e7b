#!/usr/bin/env bash
# Speed benchmarks (not tests): C++ Catch2 benchmarks in a Release build and Python
# pytest-benchmark, each reported beside a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target perfmodel_tests
./build/release/tests/perfmodel_tests "[!benchmark]" --benchmark-samples 50
bash scripts/install-python.sh
.venv/bin/python -m pytest -q -s benchmarks --benchmark-columns=mean,stddev,ops --benchmark-sort=name
