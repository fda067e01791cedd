"""Beside another training: whole-process time of ``dcgan train`` alone and two side by side, per thread setting.

    python -m benchmarks.oversubscription                      # 30 steps at 32x32, fp32, 2 rounds
    python -m benchmarks.oversubscription --steps 3 --rounds 1 --cpus 1 --out /tmp/over   # does it run?

Each setting runs one training alone, then two started together on the same cores; the two
runs of a pair use different seeds. Settings are interleaved round by round, so that a noisy
machine slows all alike. The inherited OpenMP variables are removed first, so that each
setting is exactly what it names. Times are whole processes (start-up and data loading
included, from a warm prepared copy), CPU seconds from the kernel's accounting of each child.
Target (issue 24): a pair at most 2.2x as long as a run alone, and no loss alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dcgan.core.device import cpu_description

from .common import ROOT, write_report

SETTINGS = {  # what each setting adds to the environment
    "spinning (GNU OpenMP's own default)": {"GOMP_SPINCOUNT": "300000"},
    "passive (dcgan's default)": {},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
}
INHERITED = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def train_command(args: argparse.Namespace, out: Path, seed: int) -> list[str]:
    command = [sys.executable, "-m", "dcgan", "train", "--resolution", str(args.resolution), "--precision", "fp32"]
    command += ["--steps", str(args.steps), "--seed", str(seed), "--no-progress", "--out", str(out)]
    command += ["--sample-count", "16", "--save-every-minutes", "0", "--checkpoint-every", "0"]
    command += ["--data", args.data] if args.data else []
    return ["taskset", "-c", args.cpus, *command] if args.cpus else command


def run_together(commands: list[list[str]], env: dict) -> list[dict]:
    """Start the commands at once; each one's wall seconds and CPU seconds (user + system)."""
    with contextlib.ExitStack() as stack:
        logs = [
            stack.enter_context(tempfile.TemporaryFile()) for _ in commands
        ]  # not pipes: a chatty child never blocks
        return _wait_for_all(commands, env, logs)


def _wait_for_all(commands: list[list[str]], env: dict, logs: list) -> list[dict]:
    start = time.perf_counter()
    procs = [
        subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=log)
        for c, log in zip(commands, logs, strict=True)
    ]
    results: dict[int, dict] = {}
    while len(results) < len(procs):
        pid, status, usage = os.wait4(-1, 0)
        i = next((i for i, p in enumerate(procs) if p.pid == pid), None)
        if i is None:
            continue
        if os.waitstatus_to_exitcode(status) != 0:
            logs[i].seek(0)
            raise RuntimeError(f"{' '.join(procs[i].args)} failed:\n{logs[i].read().decode()[-2000:]}")
        results[pid] = {"wall_s": time.perf_counter() - start, "cpu_s": usage.ru_utime + usage.ru_stime}
        procs[i].returncode = 0  # reaped here: Popen must not wait for it again
    return [results[p.pid] for p in procs]


def measure(args: argparse.Namespace) -> dict:
    base_env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    with tempfile.TemporaryDirectory() as tmp:
        base_env["DCGAN_CACHE"] = str(Path(tmp) / "cache")
        warm = train_command(argparse.Namespace(**{**vars(args), "steps": 1}), Path(tmp) / "warm", 0)
        run_together([warm], base_env)  # fills the prepared copy: every measured run then starts alike
        samples: dict[str, dict[str, list]] = {name: {"alone": [], "pair": []} for name in SETTINGS}
        for round_ in range(args.rounds):
            for k, (name, extra) in enumerate(SETTINGS.items()):
                env, runs = base_env | extra, Path(tmp) / f"round{round_}-setting{k}"
                alone = run_together([train_command(args, runs / "alone", 1)], env)
                pair = run_together([train_command(args, runs / f"pair{i}", 2 + i) for i in (0, 1)], env)
                samples[name]["alone"] += alone
                samples[name]["pair"] += pair
                pair_s = statistics.mean(r["wall_s"] for r in pair)
                print(
                    f"  [{round_ + 1}/{args.rounds}] {name:38s} alone {alone[0]['wall_s']:6.1f} s, pair {pair_s:6.1f} s"
                )
    rows = []
    for name, runs in samples.items():
        alone = statistics.median(r["wall_s"] for r in runs["alone"])
        pair = statistics.median(r["wall_s"] for r in runs["pair"])
        rows.append(
            {
                "setting": name,
                "env": SETTINGS[name],
                "alone_s": alone,
                "pair_s": pair,
                "pair_over_alone": pair / alone,
                "alone_cpu_s": statistics.median(r["cpu_s"] for r in runs["alone"]),
                "pair_cpu_s": statistics.median(r["cpu_s"] for r in runs["pair"]),
                "runs": runs,
            }
        )
    return {"settings": vars(args) | {"cpu": cpu_description(), "cores": os.cpu_count()}, "rows": rows}


def markdown(report: dict) -> str:
    fastest_alone = min(row["alone_s"] for row in report["rows"])
    lines = [
        "| setting | alone s | two side by side, s each | pair / alone | alone / fastest alone | CPU s alone, in a pair |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['setting']} | {row['alone_s']:.1f} | {row['pair_s']:.1f} | {row['pair_over_alone']:.2f}x"
            f" | {row['alone_s'] / fastest_alone:.2f}x | {row['alone_cpu_s']:.1f}, {row['pair_cpu_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.oversubscription", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (default 30)")
    parser.add_argument("--resolution", type=int, default=32, help="image size (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the table gives medians")
    parser.add_argument("--data", help="training data (default: the bundled MNIST sample)")
    parser.add_argument("--cpus", help="run every training on these cores (taskset list, e.g. 0,1); default: all")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "oversubscription"), help="stem")
    args = parser.parse_args(argv)
    report = measure(args)
    write_report(args.out, report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
