"""Every command's own start-up: quick ``dcgan`` commands as whole processes, this checkout against another.

    python -m benchmarks.command_startup --before OLD/src               # 10 rounds (OLD: a checkout of the code before)
    python -m benchmarks.command_startup --before src --rounds 1 --out /tmp/cs   # does it run?

Each command does little besides starting (``--version``; 64 digits from the bundled MNIST model), so its wall
seconds from launch to exit are mostly imports. In every round each command runs from both checkouts, one after the
other (``PYTHONPATH=OLD/src``, then this one's ``src``), so a machine that drifts slows both alike and each round's
ratio stays fair; the table gives medians and ranges over the rounds, and each process's own peak memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ROOT, comparison, src_first, write_report

COMMANDS = {
    "--version": ["--version"],
    "sample 64 digits": ["sample", "--pretrained", "mnist", "-n", "64", "-o", "digits.png"],
}
CHECKOUTS = ("before", "after")


def run_once(args: list[str], src: Path, work: Path) -> dict:
    """``python -m dcgan ARGS`` in ``work`` with ``src`` first on the path: wall seconds and the process's peak
    memory."""
    log = work / "log.txt"
    with open(log, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "dcgan", *args], cwd=work, env=src_first(src), stdout=sink, stderr=sink
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    if proc.returncode != 0:
        raise RuntimeError(f"dcgan {' '.join(args)} from {src} failed:\n{log.read_text(errors='replace')[-2000:]}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024}


def markdown(report: dict) -> str:
    lines = [
        f"Whole process, wall seconds, median (min-max) over {report['rounds']} rounds; {report['machine']}; "
        f"before: {report['before']}, after: {report['after']}",
        "",
        "| command | before | after | after / before (median of the rounds' ratios) | peak MiB before -> after |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name in COMMANDS:
        rows = {c: [r for r in report["rows"] if r["command"] == name and r["checkout"] == c] for c in CHECKOUTS}
        seconds = {c: [r["seconds"] for r in rows[c]] for c in CHECKOUTS}
        shown = {c: f"{statistics.median(s):.2f} s ({min(s):.2f}-{max(s):.2f})" for c, s in seconds.items()}
        ratio = statistics.median(a / b for a, b in zip(seconds["after"], seconds["before"], strict=True))
        peak = " -> ".join(f"{statistics.median(r['peak_mib'] for r in rows[c]):.0f}" for c in CHECKOUTS)
        lines.append(
            f"| `dcgan {' '.join(COMMANDS[name])}` | {shown['before']} | {shown['after']} | {ratio:.2f}x | {peak} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.command_startup", description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, metavar="SRC", help="the src folder of the code to compare with")
    parser.add_argument("--rounds", type=int, default=10, help="rounds, each command from both checkouts (default 10)")
    parser.add_argument("--out", help="output stem [default: benchmarks/results/command_startup]")
    args = parser.parse_args(argv)
    sources = {"before": Path(args.before).resolve(), "after": ROOT / "src"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.rounds + 1):
            for name, command in COMMANDS.items():
                for checkout in CHECKOUTS:
                    result = run_once(command, sources[checkout], Path(tmp))
                    rows.append({"command": name, "checkout": checkout, "round": round_, **result})
            print(f"round {round_} of {args.rounds} done", flush=True)
    report = {
        **comparison(sources),
        "rounds": args.rounds,
        "rows": rows,
    }
    write_report(args.out or ROOT / "benchmarks" / "results" / "command_startup", report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
