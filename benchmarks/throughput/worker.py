"""One measurement per fresh subprocess, so that its peak memory is its own and no state leaks into the next."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import torch

from dcgan import openmp

from ..common import ROOT
from .baseline import measure_baseline
from .limits import measure_convs, measure_peaks
from .measure import device_of
from .ours import measure_ours, measure_sampling


def worker(cfg: dict) -> dict:
    """Run the measurement ``cfg["kind"]`` names, in this process, and add its peak memory."""
    torch.set_num_threads(cfg.get("threads") or torch.get_num_threads())
    kind = cfg["kind"]
    if kind == "peaks":
        result = measure_peaks(cfg)
    elif kind == "convs":
        result = measure_convs(cfg)
    elif kind == "sample":
        result = measure_sampling(cfg)
    else:
        folder = Path(cfg["folder"])
        result = measure_baseline(cfg, folder) if kind == "baseline" else measure_ours(cfg, folder)
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if torch.cuda.is_available() and device_of(cfg).type == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result | {"peak_rss_mb": usage_self / 1024, "peak_rss_worker_mb": usage_children / 1024}


def run_worker(cfg: dict) -> dict:
    """``worker(cfg)`` in a fresh ``python -m benchmarks.throughput --worker`` process; its result."""
    env = dict(os.environ)
    if cfg["kind"] == "baseline" and openmp.CHOSEN_HERE:  # the reference waits as OpenMP does by default
        env.pop("OMP_WAIT_POLICY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", "--worker", json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {cfg}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
