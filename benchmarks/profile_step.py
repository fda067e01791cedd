"""Where a training step's CPU time goes, by kind of work: ``torch.profiler`` over a few steps of the trainer's step.

python -m benchmarks.profile_step [--resolution 64] [--preset small] [--batch 128] [--precisions fp32,bf16]
    [--steps 3] [--out benchmarks/results/profile_step]

Each precision runs one warm-up step, then ``--steps`` profiled ones, of ``training/step.py``'s ``train_step`` on
random images (channels_last, as the trainer runs it). Every aten operator's self CPU time is put in one kind:
convolutions forward and backward (3-channel layers apart: G's last and D's first, which run memory-bound),
BatchNorm, activations and losses, the optimizer, dtype casts and copies, the rest. Prints a table per precision
(milliseconds per step and share) and the ten most expensive operators; writes OUT.json and OUT.md. Name the CPU
with every figure (the table's title does). Threads: whatever ``torch.get_num_threads()`` says (``OMP_NUM_THREADS``).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from dcgan import TrainConfig
from dcgan.core.device import cpu_description
from dcgan.core.models import Discriminator, Generator
from dcgan.training.step import Precision, make_optimizers, train_step

from .common import write_report

KINDS = ("conv forward", "conv backward", "3-channel conv", "BatchNorm", "activations and losses", "optimizer",
         "casts and copies", "other")  # fmt: skip
OPTIMIZER_SCOPE = "optimizer step"


def kind_of(name: str, shapes: list, in_optimizer: bool) -> str:
    """The kind of work an aten operator does (``shapes``: its input shapes, to find the 3-channel layers)."""
    if in_optimizer:
        return "optimizer"
    if "convolution" in name:
        channels = {shape[1] for shape in shapes if len(shape) == 4}
        if 3 in channels:
            return "3-channel conv"
        return "conv backward" if "backward" in name else "conv forward"
    if "batch_norm" in name:
        return "BatchNorm"
    if any(word in name for word in ("relu", "tanh", "sigmoid", "softplus", "threshold", "mean", "mul", "neg")):
        return "activations and losses"
    if any(word in name for word in ("copy_", "::to", "_to_copy", "contiguous", "clone")):
        return "casts and copies"
    return "other"


class ScopedAdam:
    """An optimizer whose ``step`` shows in the profile under one name, so its operators are counted as its own."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        with record_function(OPTIMIZER_SCOPE):
            self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


def profile_precision(args: argparse.Namespace, precision_name: str) -> dict:
    config = TrainConfig(preset=args.preset, batch_size=args.batch).fitted_to(args.resolution, 3)
    spec, cpu = config.model_spec(), torch.device("cpu")
    torch.manual_seed(0)
    G = Generator(spec).to(memory_format=torch.channels_last)
    D = Discriminator(spec).to(memory_format=torch.channels_last)
    opt_g, opt_d = (ScopedAdam(o) for o in make_optimizers(G, D, config, cpu))
    precision = Precision(precision_name, cpu)
    real = (torch.rand(args.batch, 3, args.resolution, args.resolution) * 2 - 1).contiguous(
        memory_format=torch.channels_last
    )
    z = torch.randn(args.batch, spec.nz)
    train_step(G, D, opt_g, opt_d, real, z, precision)  # warm-up: oneDNN picks and caches its kernels
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(args.steps):
            train_step(G, D, opt_g, opt_d, real, z, precision)
    per_kind: dict[str, float] = defaultdict(float)
    per_op: dict[str, float] = defaultdict(float)
    optimizer_spans = [(e.time_range.start, e.time_range.end) for e in prof.events() if e.name == OPTIMIZER_SCOPE]
    for event in prof.events():
        if not event.name.startswith("aten::") or event.device_type.name != "CPU":
            continue
        start = event.time_range.start
        in_optimizer = any(a <= start < b for a, b in optimizer_spans)
        kind = kind_of(event.name, event.input_shapes or [], in_optimizer)
        per_kind[kind] += event.self_cpu_time_total / 1000 / args.steps
        per_op[event.name] += event.self_cpu_time_total / 1000 / args.steps
    total = sum(per_kind.values())
    top = sorted(per_op.items(), key=lambda item: -item[1])[:10]
    return {
        "precision": precision_name,
        "ms_per_step": round(total, 1),
        "kinds": {kind: round(per_kind[kind], 1) for kind in KINDS},
        "top_ops": [[name, round(ms, 1)] for name, ms in top],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/profile_step")
    args = parser.parse_args()
    results = [profile_precision(args, name) for name in args.precisions.split(",")]
    title = (
        f"One training step, {args.preset} at {args.resolution}x{args.resolution}, batch {args.batch}, "
        f"{torch.get_num_threads()} thread(s), {cpu_description()}: self CPU ms per step (share)"
    )
    lines = [title, "", "| kind | " + " | ".join(r["precision"] for r in results) + " |",
             "| --- |" + " ---: |" * len(results)]  # fmt: skip
    for kind in KINDS:
        cells = [f"{r['kinds'][kind]:.1f} ({r['kinds'][kind] / r['ms_per_step']:.0%})" for r in results]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("| all | " + " | ".join(f"{r['ms_per_step']:.1f}" for r in results) + " |")
    for r in results:
        lines += ["", f"Most expensive operators, {r['precision']} (ms per step):", ""]
        lines += [f"- `{name}`: {ms:.1f}" for name, ms in r["top_ops"]]
    report = {"cpu": cpu_description(), "threads": torch.get_num_threads(), **vars(args), "results": results}
    write_report(args.out, report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
