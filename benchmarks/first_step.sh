#!/usr/bin/env bash
# Seconds from launching a `dcgan train` command until its first step is logged.
#   bash benchmarks/first_step.sh RUN_DIR dcgan train --data SRC ... --log-every 1
# (RUN_DIR is passed as --out; the command runs to its end, its output goes to RUN_DIR.log).
set -u
out=$1
shift
t0=$(date +%s.%N)
"$@" --out "$out" >"$out.log" 2>&1 &
pid=$!
until [ -s "$out/metrics.jsonl" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
t1=$(date +%s.%N)
echo "first step after $(echo "$t1 - $t0" | bc) s"
wait "$pid"
echo "exit $?"
