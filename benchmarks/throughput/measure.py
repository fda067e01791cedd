"""What every measurement shares: its configuration's device and model, a clock that waits for the GPU, FLOPs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from dcgan import ModelSpec


def spec_of(cfg: dict) -> ModelSpec:
    from dcgan import TrainConfig

    return TrainConfig(preset=cfg["preset"], resolution=cfg["resolution"], channels=3).model_spec()


def device_of(cfg: dict) -> torch.device:
    try:
        from dcgan.core.device import pick_device
    except ImportError:  # a revision from before the package layout (ab_revisions.sh measures old ones too)
        from dcgan.training import pick_device

    return pick_device(cfg.get("device", "auto"))


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read after it measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def flops_per_image(step: Callable[[], object], batch: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / batch


def median_seconds(fn: Callable[[], object], device: torch.device, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
