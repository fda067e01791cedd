#!/usr/bin/env bash
# Training throughput of two git revisions, interleaved, on the same real images (bash 4+).
#   bash benchmarks/ab_revisions.sh REV_A REV_B [ROUNDS] [WORKER_JSON]
# Each revision is checked out into a temporary worktree and measured with the throughput
# worker of *this* checkout's benchmark, so both run the same measurement code; the order
# alternates every round (A B, B A, ...). Prefix a revision with NAME=VALUE... to run it
# under environment variables, e.g. to emulate a change on the old code:
#   bash benchmarks/ab_revisions.sh e1b2da8 "MALLOC_MMAP_MAX_=0 e1b2da8" 4
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${3:-3}
folder=$(cd "$here" && python -c 'import tempfile
from pathlib import Path
from benchmarks.throughput.data import image_folder
print(image_folder(1408, Path(tempfile.gettempdir()) / "dcgan-bench"))')  # the full benchmark's 64x64 images
cfg=${4:-'{"kind": "ours", "steps": 5, "warmup": 2, "batch": 128, "resolution": 64, "preset": "small",
  "precision": "fp32", "channels_last": true, "compile": false}'}
cfg=$(python -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1]) | {"folder": sys.argv[2]}))' "$cfg" "$folder")
tmp=$(mktemp -d)
trap 'for w in "$tmp"/*; do git -C "$here" worktree remove --force "$w" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
declare -A tree
for spec in "$1" "$2"; do
  hash=$(git -C "$here" rev-parse --verify "${spec##* }^{commit}")
  if [ -z "${tree[$hash]:-}" ]; then
    tree[$hash]="$tmp/${hash:0:12}"
    git -C "$here" worktree add --detach -q "${tree[$hash]}" "$hash"
    # this checkout's measuring code: the throughput package and the paths it uses, in place of the
    # revision's own (older revisions have a single throughput.py, removed so that only one remains)
    rm -rf "${tree[$hash]}/benchmarks/throughput.py" "${tree[$hash]}/benchmarks/throughput"
    tar -C "$here/benchmarks" --exclude=__pycache__ -cf - throughput common.py | tar -C "${tree[$hash]}/benchmarks" -xf -
  fi
done
measure() {  # SPEC -> prints one line
  local spec=$1 envs="" hash rate
  hash=$(git -C "$here" rev-parse --verify "${spec##* }^{commit}")
  [ "${spec% *}" != "$spec" ] && envs=${spec% *}
  rate=$(cd "${tree[$hash]}" && env $envs PYTHONPATH="${tree[$hash]}/src" python -m benchmarks.throughput --worker "$cfg" |
    python -c 'import json, sys; print(round(json.loads(sys.stdin.read().splitlines()[-1])["images_per_s"], 1))')
  echo "round $round  $spec: $rate img/s"
}
for round in $(seq "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then measure "$1"; measure "$2"; else measure "$2"; measure "$1"; fi
done
