"""Stop a run that has diverged (NaN or Inf in its losses or weights) before anything of it is saved.

A diverged GAN never recovers, and a checkpoint of it would overwrite the last good one, so
the loop checks every flushed batch of statistics (on every rank: all ranks stop) and the
weights before each save, and stops with the remedies that usually help.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..errors import DCGANError
from .invocation import resume_command
from .step import STAT_NAMES


def first_non_finite(values: Sequence[Sequence[float]]) -> int | None:
    """Index of the first row of step statistics holding a NaN or Inf, or None."""
    return next((i for i, row in enumerate(values) if not all(map(math.isfinite, row))), None)


def non_finite_network(networks: dict[str, nn.Module]) -> str | None:
    """Name of the first network with a NaN or Inf weight or buffer, or None."""
    for name, net in networks.items():
        if not all(torch.isfinite(t).all() for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()):
            return name
    return None


def diverged(what: str, run_root: Path, last_checkpoint: Path) -> DCGANError:
    """The error that stops a diverged run: what went wrong, that the last good checkpoint is kept, what to try."""
    kept = (
        f"the last good checkpoint {last_checkpoint} is kept"
        if last_checkpoint.is_file()
        else "no checkpoint was written"
    )
    return DCGANError(
        f"training diverged: {what}; stopped, {kept}",
        "resume from it with --precision fp32 if you trained in bf16/fp16, or start again with a lower --lr "
        f"(e.g. 0.0001) or another --seed (resume: {resume_command(run_root)})",
    )


def check_losses(values: Sequence[Sequence[float]], first_step: int, run_root: Path, last: Path) -> None:
    """Raise :func:`diverged` when a row of ``values`` (steps ``first_step``...) is not finite."""
    bad = first_non_finite(values)
    if bad is not None:
        losses = dict(zip(STAT_NAMES, values[bad], strict=True))
        raise diverged(f"the losses became {losses} at step {first_step + bad}", run_root, last)


def check_weights(networks: dict[str, nn.Module], step: int, run_root: Path, last: Path) -> None:
    """Raise :func:`diverged` when a network holds NaN or Inf (checked before every save)."""
    name = non_finite_network(networks)
    if name is not None:
        raise diverged(f"{name}'s weights hold NaN or Inf at step {step}", run_root, last)
