#!/usr/bin/env bash
# Training throughput of two git revisions, interleaved (A, B, A, B, ...), on the same images.
#   bash benchmarks/ab_revisions.sh REV_A REV_B [ROUNDS] [WORKER_JSON]
# Each revision is checked out into a temporary worktree and measured with the throughput
# worker of *this* checkout's benchmark (so both run the same measurement code); prefix a
# revision with NAME=VALUE... to run it under environment variables, e.g. to emulate a change:
#   bash benchmarks/ab_revisions.sh e1b2da8 "MALLOC_MMAP_MAX_=0 e1b2da8" 3
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${3:-3}
cfg=${4:-'{"kind": "ours", "folder": "/tmp/dcgan-bench/images-1408", "steps": 5, "warmup": 2, "batch": 128,
  "resolution": 64, "preset": "small", "precision": "fp32", "channels_last": true, "compile": false}'}
[ -d /tmp/dcgan-bench/images-1408 ] || (cd "$here" && python -m benchmarks.throughput --quick --out /tmp/dcgan-ab-quick >/dev/null)
tmp=$(mktemp -d)
trap 'for w in "$tmp"/*; do git -C "$here" worktree remove --force "$w" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
declare -A tree
for spec in "$1" "$2"; do
  rev=${spec##* }
  if [ -z "${tree[$rev]:-}" ]; then
    tree[$rev]="$tmp/$(git -C "$here" rev-parse --short "$rev")"
    git -C "$here" worktree add --detach -q "${tree[$rev]}" "$rev"
    cp "$here/benchmarks/throughput.py" "${tree[$rev]}/benchmarks/throughput.py"
  fi
done
for round in $(seq "$rounds"); do
  for spec in "$1" "$2"; do
    rev=${spec##* }
    envs=${spec% *}; [ "$envs" = "$spec" ] && envs=""
    rate=$(cd "${tree[$rev]}" && env $envs PYTHONPATH="${tree[$rev]}/src" python -m benchmarks.throughput --worker "$cfg" |
      python -c 'import json, sys; print(round(json.loads(sys.stdin.read().splitlines()[-1])["images_per_s"], 1))')
    echo "round $round  $spec: $rate img/s"
  done
done
