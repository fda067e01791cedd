#!/usr/bin/env bash
# Create .venv and install dcgan into it. Idempotent: re-running only checks what is there.
# torch is pinned and installed first: an unpinned torch would pull gigabytes of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
