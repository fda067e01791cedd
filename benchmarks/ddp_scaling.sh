#!/usr/bin/env bash
# 1 vs 2 CPU processes under torchrun (gloo): wall and CPU seconds of 1 and 3 epochs; the difference is the
# cost of 2 epochs without start-up (docs/scaling.md). Usage: bash benchmarks/ddp_scaling.sh [OUT_FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${TMPDIR:-/tmp}/dcgan-ddp-scaling}
PY=${PYTHON:-.venv/bin/python}
rm -rf "$OUT" && mkdir -p "$OUT"
PYTHONPATH=src:tests $PY - "$OUT/data" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from conftest import blobs
folder = Path(sys.argv[1]); folder.mkdir(parents=True)
for i, image in enumerate(blobs(1024, resolution=32).images):
    Image.fromarray(image[0].numpy()).save(folder / f"{i:04d}.png")
PY
common="train --data $OUT/data --resolution 32 --g-width 16 --d-width 16 --no-progress --no-cache --log-every 16 --save-every-minutes 0"
for setup in "1 1 64" "1 2 64" "2 1 32"; do  # processes, threads per process, batch per process
  read -r nproc threads batch <<<"$setup"
  for epochs in 1 3; do
    /usr/bin/time -a -o "$OUT/times.txt" \
      -f "processes=$nproc threads=$threads batch=$batch epochs=$epochs wall=%e user=%U sys=%S" \
      env OMP_NUM_THREADS=$threads PYTHONPATH=src nice -n 10 $PY -m torch.distributed.run --standalone \
      --nproc-per-node "$nproc" -m dcgan $common --batch-size "$batch" --epochs "$epochs" \
      --out "$OUT/run_p${nproc}_t${threads}_e${epochs}" >"$OUT/run_p${nproc}_t${threads}_e${epochs}.log" 2>&1
    uptime >>"$OUT/times.txt"
  done
done
cat "$OUT/times.txt"
