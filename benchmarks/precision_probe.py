"""bf16 against fp32 on this CPU: what ``--precision auto``'s probe decides, and the step time in process CPU seconds.

python -m benchmarks.precision_probe --resolution 32 [--preset small] [--g-width N --d-width N] [--steps 4] [--out STEM]
ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python -m benchmarks.precision_probe ...   # as on an AVX2-only CPU

The probe (wall clock, fastest of three steps, as training runs it) is printed first; then each precision is timed
twice, alternately, over ``--steps`` steps after a warm-up, in process CPU seconds and wall seconds per step, at
batch 128. With the kernels capped at AVX2, oneDNN has no bf16 kernels: the probe chooses fp32 without timing, and
the bf16 rows time the emulated bf16 an AVX2-only CPU would run. Writes STEM.json and STEM.md (default
benchmarks/results/precision_probe_RESpx_KERNELS, KERNELS the ATen capability in effect, e.g. avx2).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from dcgan import TrainConfig
from dcgan.core.device import cpu_description
from dcgan.core.models import Discriminator, Generator
from dcgan.training.autoprecision import choose_precision, step_timer
from dcgan.training.step import Precision, make_optimizers, train_step

from .common import ROOT, write_report


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        f"{s['resolution']}px `{s['preset']}` G{s['g_width']}/D{s['d_width']}, batch {s['batch']}, {s['steps']} steps"
        f" after a warm-up per round; {report['machine']}, kernels {report['kernels']}, {report['threads']} thread(s),"
        f" torch {report['torch']}",
        "",
        f"probe: {report['probe']}",
        "",
        "| precision | CPU s/step per round | wall s/step per round |",
        "| --- | --- | --- |",
    ]
    for name in ("fp32", "bf16"):
        rows = [r for r in report["rows"] if r["precision"] == name]
        cpu, wall = (", ".join(f"{r[key]:.3f}" for r in rows) for key in ("cpu_s", "wall_s"))
        lines.append(f"| {name} | {cpu} | {wall} |")
    lines += ["", f"a bf16 step takes {report['bf16_over_fp32']:.2f}x the CPU seconds of an fp32 step (medians)"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--g-width", type=int)
    parser.add_argument("--d-width", type=int)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--out", help="output stem [default: benchmarks/results/precision_probe_RESpx_KERNELS]")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = TrainConfig(preset=args.preset, g_width=args.g_width, d_width=args.d_width).fitted_to(args.resolution, 3)
    spec, cpu, layout = config.model_spec(), torch.device("cpu"), torch.channels_last
    G, D = Generator(spec).to(memory_format=layout), Discriminator(spec).to(memory_format=layout)
    probe = choose_precision(cpu, step_timer(G, D, config, cpu, layout))[1]
    print("probe:", probe)
    real = (torch.rand(config.batch_size, 3, args.resolution, args.resolution) * 2 - 1).contiguous(memory_format=layout)
    z = torch.randn(config.batch_size, spec.nz)
    rows = []
    for name in ("fp32", "bf16", "fp32", "bf16"):
        opt_g, opt_d = make_optimizers(G, D, config, cpu)
        precision = Precision(name, cpu)
        train_step(G, D, opt_g, opt_d, real, z, precision)  # warm-up
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(args.steps):
            train_step(G, D, opt_g, opt_d, real, z, precision)
        cpu_s = (time.process_time() - cpu_start) / args.steps
        wall_s = (time.perf_counter() - wall_start) / args.steps
        rows.append({"precision": name, "cpu_s": cpu_s, "wall_s": wall_s})
        print(
            f"{args.resolution}px {spec.g_width}/{spec.d_width} {name}: {cpu_s:.2f} CPU s/step, {wall_s:.2f} wall s/step"
        )
    kernels = torch.backends.cpu.get_cpu_capability().lower()
    median = {n: statistics.median(r["cpu_s"] for r in rows if r["precision"] == n) for n in ("fp32", "bf16")}
    settings = {"resolution": args.resolution, "preset": args.preset, "g_width": spec.g_width, "d_width": spec.d_width,
                "batch": config.batch_size, "steps": args.steps}  # fmt: skip
    report = {
        "machine": f"{cpu_description()}, {os.cpu_count()} logical cores",
        "kernels": f"ATen {kernels}, oneDNN up to {os.environ.get('ONEDNN_MAX_CPU_ISA', 'the CPU')}",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "settings": settings,
        "probe": probe,
        "rows": rows,
        "bf16_over_fp32": median["bf16"] / median["fp32"],
    }
    out = args.out or ROOT / "benchmarks" / "results" / f"precision_probe_{args.resolution}px_{kernels}"
    write_report(out, report, markdown(report))


if __name__ == "__main__":
    main()
