#!/usr/bin/env bash
# Set up, build, and run the main job: CloudMatrix 384 vs GB200 NVL72 on the built-in catalog.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-python.sh
.venv/bin/perfmodel compare huawei-cloudmatrix-384 nvidia-gb200-nvl72 --serving deepseek-r1 --training llama-3.1-405b
