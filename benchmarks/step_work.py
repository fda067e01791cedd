"""The work of a training step against the widths: what a wider G or D costs, counted, not timed.

python -m benchmarks.step_work [--resolution 64] [--widths 64/64,96/64,128/64,96/96,128/128] [--out STEM]

For each G/D width pair: the operations of the real ``train_step`` per image (torch's FLOP counter over one
step at batch 8), beside ``reproduce.step_times.step_work`` (G's pass once and D's three times, on the meta
device), which ``dcgan reproduce --g-width/--d-width`` uses to scale a config's measured step time. Both are
given as a multiple of the first pair. Counts do not depend on the machine or its load.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.flop_counter import FlopCounterMode

from dcgan import TrainConfig
from dcgan.core.models import Discriminator, Generator
from dcgan.reproduce.step_times import Model, step_work
from dcgan.training import distributed
from dcgan.training.augment import make_augment
from dcgan.training.step import Precision, make_optimizers, train_step

from .common import write_report

BATCH = 8  # operations scale linearly with the batch


def step_flops(resolution: int, g_width: int, d_width: int) -> float:
    """Operations of one real training step (fp32, no augmentation) per image."""
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    config = TrainConfig(g_width=g_width, d_width=d_width, batch_size=BATCH).fitted_to(resolution, 3)
    spec = config.model_spec()
    G, D = Generator(spec), Discriminator(spec)
    opt_g, opt_d = make_optimizers(G, D, config, cpu)
    real, z = torch.rand(BATCH, 3, resolution, resolution) * 2 - 1, torch.randn(BATCH, spec.nz)
    augment = make_augment(config, cpu, distributed.SINGLE, BATCH)
    with FlopCounterMode(display=False) as counter:
        train_step(G, D, opt_g, opt_d, real, z, Precision("fp32", cpu), augment=augment)
    return counter.get_total_flops() / BATCH


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--widths", default="64/64,96/64,128/64,96/96,128/128", help="G/D width pairs")
    parser.add_argument("--out", default="benchmarks/results/step_work", help="report stem (.json, .md)")
    args = parser.parse_args()
    pairs = [tuple(int(w) for w in pair.split("/")) for pair in args.widths.split(",")]
    rows = []
    for g_width, d_width in pairs:
        model = Model(args.resolution, 3, g_width, d_width, 100, False, "none")
        rows.append({"g_width": g_width, "d_width": d_width, "step_gflop_per_image": step_flops(args.resolution, g_width, d_width) / 1e9,
                     "step_work": step_work(model)})  # fmt: skip
    first = rows[0]
    lines = [
        f"Operations of a training step at {args.resolution}x{args.resolution}, per image, against the widths "
        f"(x: a multiple of G {first['g_width']} / D {first['d_width']}).\n",
        "| G width | D width | step GFLOP/image | x (the step counted) | x (step_work: G + 3 D) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        counted, estimated = (
            r["step_gflop_per_image"] / first["step_gflop_per_image"],
            r["step_work"] / first["step_work"],
        )
        r |= {"counted_ratio": counted, "estimated_ratio": estimated}
        lines.append(
            f"| {r['g_width']} | {r['d_width']} | {r['step_gflop_per_image']:.2f} | {counted:.2f} | {estimated:.2f} |"
        )
    write_report(args.out, {"resolution": args.resolution, "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
