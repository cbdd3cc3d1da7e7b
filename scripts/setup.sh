#!/usr/bin/env bash
# Installs what perfmodel needs on Debian 12 / Python 3.11. Safe to run any number of times.
#  - Debian packages: installed with apt-get when run as root, otherwise listed for you.
#  - Python packages: installed with pip into ./.venv (created if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(g++ libboost1.81-dev libboost-json1.81-dev catch2 python3-venv)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages; run as root:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# Build tools and runtime/test dependencies; pip skips what is already satisfied.
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
