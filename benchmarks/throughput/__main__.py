"""``python -m benchmarks.throughput``: run the plan, write the report as JSON and markdown (and the worker's entry)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .. import throughput
from ..common import ROOT, write_report
from .data import CIFAR_ZIP, image_folder
from .ours import startup_seconds
from .plan import configurations, conv_limits, interleave, scaling_configurations
from .report import machine, markdown
from .worker import run_worker, worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput", description=throughput.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny run (under a minute) that checks everything works")
    parser.add_argument(
        "--headline", action="store_true", help="only the 64px small case and no scaling table (a time-limited check)"
    )
    parser.add_argument("--repeats", type=int, help="measurements of the headline configurations (default 3; quick 1)")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (default 5; quick 2)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to start)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps: where both pipelines train")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "throughput"), help="output stem")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    from dcgan.core.device import pick_device
    from dcgan.errors import DCGANError

    try:
        device = pick_device(args.device)
    except DCGANError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gpu = device.type != "cpu"  # a GPU step takes milliseconds: time more of them
    repeats = args.repeats or (1 if args.quick else 3)
    steps = args.steps or (2 if args.quick else 50 if gpu else 5)
    batch = 32 if args.quick else 128
    warmup = 1 if args.quick else 5 if gpu else 2
    cache = Path(tempfile.gettempdir()) / "dcgan-bench"
    folder = image_folder(batch * (steps + warmup + 4), cache)
    common = {"folder": str(folder), "steps": steps, "warmup": warmup, "batch": batch, "device": str(device)}
    print(
        f"images: {folder} ({'real CIFAR-10' if CIFAR_ZIP.exists() else 'generated'}); {repeats} repeats x {steps} steps"
    )

    peak_cfg = {"kind": "peaks", "batch": batch, "matmul_size": 512 if args.quick else None, "device": str(device)}
    peaks_before = run_worker(peak_cfg)
    rows = configurations(args.quick, args.compile, repeats, fp16=device.type == "cuda", headline=args.headline)
    training = interleave(rows, common)
    peaks_after = run_worker(peak_cfg)
    peaks = {k: max(peaks_before[k], peaks_after[k]) for k in peaks_before if k.startswith(("matmul_", "conv_"))}
    for row in training:
        base = next(
            r
            for r in training
            if r["kind"] == "baseline" and r["resolution"] == row["resolution"] and r["preset"] == row["preset"]
        )
        row["ratio_to_baseline"] = row["images_per_s"] / base["images_per_s"]
        row["conv_fp32_utilisation"] = row["flops_per_image"] * row["images_per_s"] / peaks["conv_fp32"]
    limits = conv_limits(training, common)
    scaling_rows = scaling_configurations(args.quick or args.headline)
    scaling = interleave(scaling_rows, common) if scaling_rows else []
    sample_cfg = {"kind": "sample", "resolution": 64 if not args.quick else 32, "preset": "small", "batch": 256}
    sample_cfg["device"] = str(device)
    sampling = run_worker(sample_cfg) | {"resolution": sample_cfg["resolution"]}
    report = {
        "machine": machine(),
        "settings": {"repeats": repeats, "steps": steps, "warmup": warmup, "batch": batch, "quick": args.quick}
        | {"headline": args.headline, "device": str(device)},
        "peaks": peaks,
        "training": training,
        "conv_limits": limits,
        "scaling": scaling,
        "sampling": sampling,
        "startup_s": startup_seconds(1 if args.quick else 3),
    }
    write_report(args.out, report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
