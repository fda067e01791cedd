#!/usr/bin/env bash
# Seconds from the command to the first step (benchmarks/first_step.sh) with --precision auto: the code of
# another checkout (BEFORE_SRC=its src folder), this one, this one with the CPU's bf16 units hidden (as on an
# AVX2-only CPU: the probe is skipped), and --precision fp32; at 32x32 (bundled MNIST) and 64x64 (CelebA).
#   BEFORE_SRC=/path/to/old/src bash benchmarks/startup_probe.sh [CORE [THREADS]]   (default: core 1, 1 thread)
core=${1:-1}; threads=${2:-1}
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
fs() { bash benchmarks/first_step.sh "$@" | head -1; }
hide='import sys; import dcgan.training.autoprecision as a; a.native_bf16 = lambda: (False, "bf16 units hidden"); from dcgan.cli import main; sys.exit(main(sys.argv[1:]))'
export OMP_NUM_THREADS=$threads
for round in 1 2; do
for res in 32 64; do
  data=(); [ $res = 64 ] && data=(--data ${CELEBA:-../shared/data/celeba-10k.zip} --resolution 64)
  common=(--steps 2 --log-every 1 --no-progress --no-health "${data[@]}")
  rm -rf /tmp/su-*
  echo "round $round ${res}px before: $(PYTHONPATH=${BEFORE_SRC:?set BEFORE_SRC to the src folder of the code to compare with} fs /tmp/su-b taskset -c $core $py -m dcgan train "${common[@]}")"
  echo "round $round ${res}px after: $(PYTHONPATH=$PWD/src fs /tmp/su-a taskset -c $core $py -m dcgan train "${common[@]}")"
  echo "round $round ${res}px after, no bf16 units: $(PYTHONPATH=$PWD/src fs /tmp/su-c taskset -c $core $py -c "$hide" train "${common[@]}")"
  echo "round $round ${res}px after, --precision fp32: $(PYTHONPATH=$PWD/src fs /tmp/su-d taskset -c $core $py -m dcgan train --precision fp32 "${common[@]}")"
  grep -h "precision:" /tmp/su-a.log /tmp/su-c.log | sed 's/^/    /'
done
done
