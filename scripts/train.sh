#!/usr/bin/env bash
# Set up, then train on the MNIST sample bundled with the package (offline). Extra arguments go to `dcgan train`.
# On the bundled sample the run also scores its samples twice an epoch (FID, KID, precision/recall against
# the bundled MNIST domain network), so its report.html has a quality curve; with --data, pass your own
# --eval-every and --eval-features.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
case " $* " in
*" --data"* | *" --resume"* | *" --eval-every"*) quality=() ;;
*) quality=(--eval-every 117) ;;
esac
exec .venv/bin/dcgan train "${quality[@]}" "$@"
