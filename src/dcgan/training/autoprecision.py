"""``--precision auto``: bf16 only where this CPU computes it natively *and* a short probe shows it faster.

bf16 autocast speeds the CPU step up where the CPU has bf16 units (about 2.2x on a Xeon with AMX,
about 1.5x on an AMD EPYC with AVX-512-BF16 on idle cores: docs/benchmarks.md). Where it has none
(AVX2 CPUs, most laptops and desktops) bf16 is emulated and far slower (docs/benchmarks.md), so the
probe does not time it at all: oneDNN and the CPU's flags say so in microseconds. Elsewhere the probe
alternates fp32 and bf16 steps on a small batch (a fraction of a second each) and stops as soon
as bf16 is clearly losing. On GPUs ``auto`` keeps fp32. The result is kept in the checkpoint with
the machine it was measured on, so resuming the run on the same machine probes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from time import perf_counter

import torch
from torch import nn

from ..core.device import cpu_description, cpu_field
from . import distributed
from .config import PRECISIONS, TrainConfig
from .step import Precision, make_optimizers, train_step

PROBE_STEPS = 3  # timed steps per precision, alternating, after one untimed warm-up each; the fastest counts
PROBE_PIXELS = 8 * 64 * 64  # a probe step's batch: this many pixels (8 images at 64x64, 32 at 32x32, at least 2)
LOSING = 1.25  # a bf16 step this much slower than the fastest fp32 step ends the probe at once
NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "avx_ne_convert"}  # Linux's names for bf16 arithmetic units


def native_bf16() -> tuple[bool, str]:
    """Whether this CPU computes bf16 in hardware, and if not, why not: asked of oneDNN, then of the CPU's flags."""
    if not torch.backends.mkldnn.is_available() or not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False, "oneDNN has no bf16 kernels for this CPU"
    flags = cpu_field("flags")
    if flags is not None and not set(flags.split()) & NATIVE_BF16_FLAGS:
        return False, "this CPU has no bf16 units (no AVX-512-BF16, AMX or AVX-NE-CONVERT), so bf16 would be emulated"
    return True, "native bf16"


def machine_key(device: torch.device) -> str:
    """What a probe's answer depends on besides the networks: the CPU, the torch build and the threads."""
    return f"{device.type}|{cpu_description()}|torch {torch.__version__}|{torch.get_num_threads()} threads"


def choose_precision(
    device: torch.device,
    time_step: Callable[[str], float] | None = None,
    support: Callable[[], tuple[bool, str]] | None = None,
) -> tuple[str, str]:
    """The precision ``auto`` means on ``device``, and why; ``time_step(precision)`` times one step;
    ``support()`` says whether the CPU has bf16 units (default :func:`native_bf16`)."""
    if device.type != "cpu":
        return "fp32", f"auto on {device.type}: fp32 (the default off the CPU)"
    if time_step is None:
        return "fp32", "auto: fp32 (nothing to measure)"
    native, why = (support or native_bf16)()
    if not native:
        return "fp32", f"auto: fp32 ({why}; bf16 was not timed)"
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    try:
        for precision in times:
            time_step(precision)  # warm-up: first-call allocations and kernel selection
        for _ in range(PROBE_STEPS):
            for precision, seen in times.items():
                seen.append(time_step(precision))
            if times["bf16"][-1] > LOSING * min(times["fp32"]):
                break  # clearly losing: more steps would not change the answer
    except RuntimeError as exc:  # a build without bf16 kernels
        return "fp32", f"auto: fp32 (bf16 does not run here: {str(exc).splitlines()[0]})"
    fp32, bf16 = min(times["fp32"]), min(times["bf16"])
    ratio = fp32 / bf16
    choice = "bf16" if ratio > 1 else "fp32"
    return choice, (
        f"auto: {choice} (a probe step measured {fp32 * 1000:.0f} ms in fp32 and {bf16 * 1000:.0f} ms in bf16 on"
        f" this CPU, bf16 {ratio:.2f}x as fast; set --precision to skip the probe)"
    )


def probe_batch(resolution: int, batch_size: int) -> int:
    """Images in a probe step: about ``PROBE_PIXELS`` pixels, so a step costs well under a second on any CPU."""
    return max(2, min(batch_size, PROBE_PIXELS // (resolution * resolution)))


def step_timer(
    G: nn.Module, D: nn.Module, config: TrainConfig, device: torch.device, memory_format: torch.memory_format
) -> Callable[[str], float]:
    """``time_step(precision)``: the seconds of one step of copies of ``G`` and ``D`` on a small batch (the run's
    own networks stay untouched, and so do the RNGs the run draws from)."""
    spec = G.spec
    batch = probe_batch(spec.resolution, config.batch_size)
    g, d = copy.deepcopy(G), copy.deepcopy(D)
    opt_g, opt_d = make_optimizers(g, d, config, device)
    with torch.random.fork_rng(devices=[]):
        real = torch.rand(batch, spec.channels, spec.resolution, spec.resolution, device=device) * 2 - 1
        real = real.contiguous(memory_format=memory_format)
        z = torch.randn(batch, spec.nz, device=device)
    labels = torch.zeros(batch, dtype=torch.long, device=device) if spec.num_classes else None

    def time_step(precision: str) -> float:
        start = perf_counter()
        train_step(g, d, opt_g, opt_d, real, z, Precision(precision, device), labels)
        return perf_counter() - start

    return time_step


def decide_precision(
    config: TrainConfig,
    G: nn.Module,
    D: nn.Module,
    device: torch.device,
    memory_format: torch.memory_format,
    world: distributed.World,
    stored: dict | None = None,
) -> tuple[str, str, dict | None]:
    """The precision a run of ``G`` and ``D`` trains in, why, and for ``auto`` the probe's record: kept in the
    checkpoint, so a resume on the same machine reuses it (``stored``) instead of probing. Every rank trains in
    rank 0's choice."""
    if config.precision != "auto":
        return config.precision, f"{config.precision} (as asked)", None
    machine = machine_key(device)
    if stored and stored.get("machine") == machine:
        probe, reason = stored, f"{stored['reason']} [measured before this resume]"
    else:
        choice, reason = choose_precision(device, step_timer(G, D, config, device, memory_format))
        probe = {"machine": machine, "choice": choice, "reason": reason}
    name = probe["choice"]
    if world.distributed:
        name = PRECISIONS[int(distributed.broadcast(torch.tensor(PRECISIONS.index(name)), world))]
    return name, reason, probe
