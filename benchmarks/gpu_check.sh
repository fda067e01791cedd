#!/usr/bin/env bash
# The check to run first on a machine with an NVIDIA GPU, from a fresh clone (expected about 6 minutes; each
# phase has a ceiling, so that a hang still leaves the other phases' results):
#   1. install (scripts/setup.sh; torch replaced by a CUDA build if what it installed has no CUDA),
#   2. the tests marked `cuda` (tests/cuda: every precision, fused Adam, exact resume, the on-GPU data set,
#      NCCL data parallelism, --compile, torchrun on one GPU),
#   3. the throughput table against the pytorch/examples pipeline on that GPU (64px small: every variant),
# each phase's output, with the machine's description and a summary, in one folder.
#
#   bash benchmarks/gpu_check.sh [--out DIR] [--python PATH] [--dry-run]
#
# --out DIR      where everything goes (default runs/gpu-check-<UTC time>)
# --python PATH  use this interpreter (with dcgan installed) instead of setting up .venv
# --dry-run      the same sequence on a CPU with tiny sizes: CUDA tests skip, throughput in its quick mode
#                (CI runs this, so the script cannot rot before a GPU comes)
# DCGAN_TORCH_INDEX: the wheel index to take a CUDA torch from (default PyTorch's CUDA 12.8 index).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="runs/gpu-check-$(date -u +%Y%m%d-%H%M%S)"
PY=""
DRY_RUN=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --python) PY=$2; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        *) echo "gpu_check.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.md"
FAILED=0
START=$SECONDS
export PYTHONPATH="$ROOT/src:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export CUBLAS_WORKSPACE_CONFIG=:4096:8  # deterministic cuBLAS for the exact-resume test

# phase NAME COMMAND...: run it with its output in NAME.log, time it, note it in the summary
phase() {
    local name=$1 begin=$SECONDS status verdict=ok
    shift
    echo "== $name" | tee -a "$OUT/progress.log"
    "$@" >"$OUT/$name.log" 2>&1
    status=$?
    [ "$status" -eq 0 ] || FAILED=1
    [ "$status" -eq 124 ] && verdict="timed out"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && verdict="FAILED (exit $status)"
    echo "| $name | $verdict | $((SECONDS - begin)) |" >>"$SUMMARY"
    tail -n 3 "$OUT/$name.log" | tee -a "$OUT/progress.log"
    return "$status"
}

install() {
    timeout 120 bash scripts/setup.sh || return
    if [ "$DRY_RUN" -eq 0 ] && ! .venv/bin/python -c "import torch, sys; sys.exit(torch.version.cuda is None)"; then
        # a CPU build (a pip configured for CPU wheels): the same version from PyTorch's CUDA index
        timeout 180 .venv/bin/python -m pip install -q --force-reinstall "torch==2.13.0" \
            --index-url "${DCGAN_TORCH_INDEX:-https://download.pytorch.org/whl/cu128}"
    fi
}

describe_machine() {
    date -u
    git -C "$ROOT" log -1 --format='commit %H %s' 2>/dev/null
    lscpu | grep -E 'Model name|^CPU\(s\)'
    nvidia-smi || echo "nvidia-smi: not available"
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available()); print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device')"
}

echo "| phase | result | seconds |" >"$SUMMARY"
echo "| --- | --- | --- |" >>"$SUMMARY"
if [ -z "$PY" ]; then
    phase install install
    PY=.venv/bin/python
fi
phase machine describe_machine
if [ "$DRY_RUN" -eq 0 ] && ! "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "no CUDA GPU visible to torch: see $OUT/machine.log (or use --dry-run on a CPU)" | tee -a "$SUMMARY" >&2
    exit 1
fi
phase cuda-tests timeout 180 "$PY" -m pytest tests/cuda -m cuda -v -rs --junitxml="$OUT/cuda-tests.xml"
if [ "$DRY_RUN" -eq 1 ]; then
    phase throughput timeout 300 "$PY" -m benchmarks.throughput --quick --device cpu --out "$OUT/throughput"
else
    phase throughput timeout 200 "$PY" -m benchmarks.throughput --headline --repeats 2 --device cuda --out "$OUT/throughput"
fi
echo "total: $((SECONDS - START)) s; everything is in $OUT" | tee -a "$SUMMARY"
exit "$FAILED"
