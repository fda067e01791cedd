#!/usr/bin/env bash
# Set up, then train on the MNIST sample bundled with the package (offline). Extra arguments go to `dcgan train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/dcgan train "$@"
