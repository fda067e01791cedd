"""What watches a run: the loop calls each callback at fixed points, so features that observe
training (the progress bars, the loss plot, periodic evaluation, reports, TensorBoard, health
warnings) live in their own modules instead of inside ``Trainer.fit``.

A callback sees the run as a :class:`RunView`: the members it may read, and three things it
may do: ``save(name)`` a checkpoint, ``log(rows)`` into metrics.jsonl, ``note(key, text)`` in the
progress bar. It must not change the networks or the data order, so a run's results do not
depend on which callbacks watched it. The view is a protocol (the loop's ``Trainer`` is one), so
nothing in this folder imports the loop: the loop stands above its watchers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from ...core.models import Discriminator, Generator, ModelSpec
from ...core.rundir import RunDir
from ...data import ImageData
from ..averaging import GeneratorAverage
from ..config import TrainConfig


class RunView(Protocol):
    """The run as a callback sees it."""

    # what the run is
    @property
    def config(self) -> TrainConfig: ...
    @property
    def data(self) -> ImageData: ...
    @property
    def device(self) -> torch.device: ...
    @property
    def spec(self) -> ModelSpec: ...
    @property
    def run(self) -> RunDir: ...

    # where it is, and how long it goes on (steps of ``global_batch`` images)
    @property
    def step(self) -> int: ...
    @property
    def epoch(self) -> int: ...
    @property
    def batch_in_epoch(self) -> int: ...
    @property
    def steps_per_epoch(self) -> int: ...
    @property
    def total_steps(self) -> int: ...
    @property
    def global_batch(self) -> int: ...

    # what it trains (read, never changed)
    @property
    def G(self) -> Generator: ...  # noqa: N802 (the paper's names)
    @property
    def D(self) -> Discriminator: ...  # noqa: N802
    @property
    def average(self) -> GeneratorAverage | None: ...
    @property
    def sampling_generator(self) -> Generator: ...
    @property
    def fixed_noise(self) -> torch.Tensor: ...
    def fixed_samples(self, G: Generator | None = None) -> torch.Tensor: ...
    def latest_statistics(self) -> dict[str, float]: ...

    # what a callback may do
    @property
    def notes(self) -> dict[str, str]: ...
    def note(self, key: str, text: str | None) -> None: ...
    def log(self, rows: list[dict]) -> None: ...
    def save(self, name: str = ...) -> Path: ...


class Callback:
    """Hooks of the loop, each a no-op unless overridden; each is called on rank 0 only (callbacks write files)."""

    def on_start(self, trainer: RunView) -> None:
        """Before the first step of this process (a fresh run or a resume)."""

    def on_step(self, trainer: RunView) -> None:
        """After every step; keep it cheap (the step's statistics are still on the device)."""

    def on_metrics(self, trainer: RunView, rows: list[dict]) -> None:
        """After ``rows`` (one per step, as in metrics.jsonl) were appended to the metrics file."""

    def on_epoch_end(self, trainer: RunView) -> None:
        """After an epoch's samples and checkpoint were written."""

    def on_end(self, trainer: RunView) -> None:
        """After the last epoch, or after a stop request's checkpoint."""

    def on_close(self, trainer: RunView) -> None:
        """Last, however the run ended (finished, stopped or failed): release what ``on_start`` opened."""
