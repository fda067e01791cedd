"""``--precision auto``: measure, on this machine, whether bf16 pays before training in it.

bf16 autocast speeds the CPU step up where the CPU has bf16 matrix units (about 2.4x on a Xeon
with AMX, about 1.5x on an AMD EPYC with AVX-512-BF16 on idle cores: docs/benchmarks.md) and can
be slower where it has not, or while other processes share the cores. No table of CPUs answers
that in advance, so a few timed steps of the run's own networks do. On GPUs ``auto`` keeps fp32.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from time import perf_counter

import torch
from torch import nn

from .config import TrainConfig
from .step import Precision, make_optimizers, train_step

PROBE_STEPS = 3  # timed steps per precision, after one untimed warm-up step; the fastest counts


def choose_precision(device: torch.device, measure: Callable[[str], float] | None = None) -> tuple[str, str]:
    """The precision ``auto`` means on ``device``, and why; ``measure(precision)`` gives seconds per step."""
    if device.type != "cpu":
        return "fp32", f"auto on {device.type}: fp32 (the default off the CPU)"
    if measure is None:
        return "fp32", "auto: fp32 (nothing to measure)"
    try:
        fp32, bf16 = measure("fp32"), measure("bf16")
    except RuntimeError as exc:  # a CPU or build without bf16 kernels
        return "fp32", f"auto: fp32 (bf16 does not run here: {str(exc).splitlines()[0]})"
    ratio = fp32 / bf16
    choice = "bf16" if ratio > 1 else "fp32"
    return choice, (
        f"auto: {choice} (a step measured {fp32 * 1000:.0f} ms in fp32 and {bf16 * 1000:.0f} ms in bf16 on this CPU,"
        f" bf16 {ratio:.2f}x as fast; set --precision to skip the probe)"
    )


def step_timer(
    G: nn.Module, D: nn.Module, config: TrainConfig, device: torch.device, memory_format: torch.memory_format
) -> Callable[[str], float]:
    """``measure(precision)``: the fastest of a few timed steps of copies of ``G`` and ``D`` on a batch of the
    run's size (the run's own networks stay untouched, and so do the RNGs the run draws from)."""
    spec, batch_size = G.spec, config.batch_size

    def measure(precision: str) -> float:
        with torch.random.fork_rng(devices=[]):
            g, d = copy.deepcopy(G), copy.deepcopy(D)
            opt_g, opt_d = make_optimizers(g, d, config, device)
            mode = Precision(precision, device)
            real = torch.rand(batch_size, spec.channels, spec.resolution, spec.resolution, device=device) * 2 - 1
            real = real.contiguous(memory_format=memory_format)
            z = torch.randn(batch_size, spec.nz, device=device)
            labels = torch.zeros(batch_size, dtype=torch.long, device=device) if spec.num_classes else None
            times = []
            for i in range(PROBE_STEPS + 1):
                start = perf_counter()
                train_step(g, d, opt_g, opt_d, real, z, mode, labels)
                if i:
                    times.append(perf_counter() - start)
        return min(times)

    return measure
