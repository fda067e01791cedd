"""Paths and settings the benchmarks share, kept here because benchmarks never import the test suite's modules."""

from __future__ import annotations

import json
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"  # real data sets beside the checkout, where a machine has them
# the environment of a process whose kernels are capped at AVX2 (ATen's and oneDNN's), as on an AVX2-only CPU
ISA_CAPS = {"native": {}, "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}}


def write_report(stem: str | Path, report: dict, table: str) -> None:
    """A benchmark's output: every measurement in STEM.json, its markdown table in STEM.md and on screen."""
    out = Path(stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(table)
    print(table)


def dcgan(args: list[str]) -> tuple[float, float]:
    """Run ``dcgan ARGS`` in a child process; returns (CPU seconds of the child, wall seconds)."""
    print("$ dcgan " + shlex.join(args), flush=True)
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, "-m", "dcgan", *args], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, time.perf_counter() - start


def src_first(src: Path) -> dict[str, str]:
    """This environment with ``src`` first on the path: a child process then imports that checkout's ``dcgan``."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])))


def commit_of(src: Path) -> str:
    """The commit a src folder's checkout is at, to name the code in a report ('' outside git)."""
    found = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return found.stdout.strip()


def comparison(sources: dict[str, Path]) -> dict[str, str]:
    """The head of a report comparing the ``before`` and ``after`` src folders: the machine, and each one's commit."""
    from dcgan.core.device import cpu_description

    return {
        "machine": f"{cpu_description()}, {os.cpu_count()} logical cores, OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}",
        "before": f"{commit_of(sources['before'])} ({sources['before']})",
        "after": commit_of(sources["after"]),
    }
