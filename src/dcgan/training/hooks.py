"""What watches a run: the loop calls each callback at fixed points, so features that observe
training (the loss plot, periodic evaluation, reports, TensorBoard, health warnings) live in
their own modules instead of inside ``Trainer.fit``.

A callback reads the trainer (``trainer.step``, ``.epoch``, ``.G``, ``.run``, ...) and may call
``trainer.save(name)``; it must not change the networks or the data order, so a run's
results do not depend on which callbacks watched it. The callbacks themselves live in their
modules; callbacks.py lists the ones a run gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loop import Trainer


class Callback:
    """Hooks of the loop, each a no-op unless overridden."""

    def on_start(self, trainer: Trainer) -> None:
        """Before the first step of this process (a fresh run or a resume)."""

    def on_step(self, trainer: Trainer) -> None:
        """After every step; keep it cheap (the step's statistics are still on the device)."""

    def on_metrics(self, trainer: Trainer, rows: list[dict]) -> None:
        """After ``rows`` (one per step, as in metrics.jsonl) were appended to the metrics file."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        """After an epoch's samples and checkpoint were written."""

    def on_end(self, trainer: Trainer) -> None:
        """After the last epoch, or after a stop request's checkpoint."""
