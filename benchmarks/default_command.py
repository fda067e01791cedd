"""The default command against the reference pipeline, each a whole process from launch to exit (issue 24).

    python -m benchmarks.default_command                  # 2,560 CIFAR-10 JPEGs at 64x64, 2 epochs, 2 rounds
    python -m benchmarks.default_command --isa avx2       # the same with AVX2 kernels only, as on an AVX2-only CPU
    python -m benchmarks.default_command --images 256 --epochs 1 --rounds 1 --out /tmp/dc   # does it run?

Each pipeline runs as its user runs it: the reference (the pytorch/examples loop written out in
benchmarks/throughput/baseline.py: JPEGs decoded per item by 2 DataLoader workers, its nets saved
after every epoch), ``dcgan train`` as shipped (``--precision auto``; it first decodes the folder
into a fresh cache, as a new user's first run does), and ``dcgan train --precision fp32``.
Rounds are interleaved, so a noisy machine slows all alike; images/s is images x epochs over the
whole process's wall seconds. ``--isa avx2`` caps ATen's and oneDNN's kernels at AVX2 in every
process (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``): the code an AVX2-only CPU runs, on this
CPU's cores. oneDNN then reports no bf16, so ``auto`` skips its probe as it does on such a CPU.
Target: the default command at least 1.5x the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dcgan import openmp
from dcgan.core.device import cpu_description

from .common import ISA_CAPS, ROOT, write_report
from .throughput.data import image_folder

PIPELINES = (
    "reference (pytorch/examples)",
    "dcgan train (as shipped: --precision auto)",
    "dcgan train --precision fp32",
)


def command(pipeline: str, folder: Path, epochs: int, out: Path) -> list[str]:
    if pipeline.startswith("reference"):
        spec = {"folder": str(folder), "epochs": epochs, "out": str(out)}
        return [sys.executable, "-m", "benchmarks.default_command", "--reference", json.dumps(spec)]
    train = [sys.executable, "-m", "dcgan", "train", "--data", str(folder), "--resolution", "64"]
    train += ["--epochs", str(epochs), "--out", str(out), "--no-progress"]
    return train + (["--precision", "fp32"] if "fp32" in pipeline else [])


def run_reference(spec: dict) -> None:
    """The reference pipeline for ``spec["epochs"]`` epochs, saving G and D after each as the example does."""
    import torch

    from .throughput.baseline import reference_pipeline

    cfg = {"resolution": 64, "preset": "small", "batch": 128, "device": "cpu"}
    loader, step, nets = reference_pipeline(cfg, Path(spec["folder"]))
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    for epoch in range(spec["epochs"]):
        for real, _ in loader:
            step(real)
        for name, net in nets.items():
            torch.save(net.state_dict(), out / f"net{name}_epoch_{epoch}.pth")


def measure(pipeline: str, folder: Path, epochs: int, env: dict, work: Path) -> dict:
    """One whole process: wall and CPU seconds, and the precision ``dcgan train`` chose."""
    run_env = dict(env, DCGAN_CACHE=str(work / "cache"))  # a fresh cache: decoding is part of a first run
    if pipeline.startswith("reference") and openmp.CHOSEN_HERE:  # the reference waits as OpenMP does by default
        run_env.pop("OMP_WAIT_POLICY", None)
    work.mkdir(parents=True)
    log = work / "log.txt"
    with open(log, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(command(pipeline, folder, epochs, work / "out"), env=run_env, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        seconds = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{pipeline} failed:\n{text[-3000:]}")
    chosen = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("precision:")), "")
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime, "precision": chosen}


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"{s['images']:,} CIFAR-10 JPEGs at 64x64, `small`, batch 128, {s['epochs']} epochs, whole process;"
        f" {report['machine']}, kernels: {s['isa']}",
        "",
        "| pipeline | images/s per round | median | x reference | CPU s (median) | precision |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    medians = {p: statistics.median(r["images_per_s"] for r in report["rows"] if r["pipeline"] == p) for p in PIPELINES}
    for p in PIPELINES:
        rows = [r for r in report["rows"] if r["pipeline"] == p]
        rates = ", ".join(f"{r['images_per_s']:.1f}" for r in rows)
        cpu = statistics.median(r["cpu_s"] for r in rows)
        chosen = rows[-1]["precision"].split(" (")[0] or "fp32 (its only one)"
        lines.append(
            f"| {p} | {rates} | {medians[p]:.1f} | {medians[p] / medians[PIPELINES[0]]:.2f}x | {cpu:.0f} | {chosen} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.default_command", description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2560, help="CIFAR-10 training JPEGs (default 2,560)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--isa", choices=ISA_CAPS, default="native", help="avx2: cap the kernels at AVX2")
    parser.add_argument("--out", help="output stem [default: benchmarks/results/default_command[_avx2]]")
    parser.add_argument("--reference", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference:
        run_reference(json.loads(args.reference))
        return 0
    out = args.out or str(
        ROOT / "benchmarks" / "results" / ("default_command" + ("" if args.isa == "native" else "_avx2"))
    )
    env = dict(
        os.environ,
        **ISA_CAPS[args.isa],
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = image_folder(args.images, Path(tmp) / "images")
        rows = []
        for round_ in range(1, args.rounds + 1):
            for pipeline in PIPELINES:
                work = Path(tmp) / f"{round_}-{PIPELINES.index(pipeline)}"
                result = measure(pipeline, folder, args.epochs, env, work)
                result["images_per_s"] = args.images * args.epochs / result["seconds"]
                rows.append({"pipeline": pipeline, "round": round_, **result})
                print(
                    f"round {round_}: {pipeline}: {result['seconds']:.1f} s, {result['images_per_s']:.1f} img/s",
                    flush=True,
                )
    isa = "native" if args.isa == "native" else "capped at AVX2 (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2)"
    settings = {"images": args.images, "epochs": args.epochs, "rounds": args.rounds, "isa": isa}
    report = {"machine": f"{cpu_description()}, {os.cpu_count()} logical cores", "settings": settings, "rows": rows}
    write_report(out, report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
