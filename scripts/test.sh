#!/usr/bin/env bash
# Set up, then lint and run the test suite, one pytest-xdist worker per core (DCGAN_TEST_WORKERS to choose;
# 0 runs it in this process). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-browser.sh
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/python -m pytest -n "${DCGAN_TEST_WORKERS:-auto}" --dist worksteal "$@"
