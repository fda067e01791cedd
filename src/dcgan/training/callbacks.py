"""What watches a run: the loop calls each callback at fixed points, so features that observe
training (the loss plot, periodic evaluation, reports, TensorBoard, health warnings) live in
their own modules instead of inside ``Trainer.fit``.

A callback reads the trainer (``trainer.step``, ``.epoch``, ``.G``, ``.run``, ...) and may call
``trainer.save(name)``; it must not change the networks or the data order, so a run's
results do not depend on which callbacks watched it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.rundir import EVAL, STEP
from .plots import plot_losses

if TYPE_CHECKING:
    from .config import TrainConfig
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


class LossPlot(Callback):
    """Redraws ``loss.png`` from the metrics file after every epoch (with a quality panel once evaluations exist)."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        rows = trainer.run.read_metrics(None)  # the file once: training steps and quality evaluations
        steps = [row for row in rows if row.get("kind", STEP) == STEP]
        plot_losses(steps, trainer.run.loss_plot, [row for row in rows if row.get("kind") == EVAL])

    def on_end(self, trainer: Trainer) -> None:
        if trainer.config.evaluates:  # the final evaluation comes after the last epoch's plot
            self.on_epoch_end(trainer)


def default_callbacks(config: TrainConfig) -> list[Callback]:
    """The callbacks a config asks for; ``train``/``resume`` use these unless given others."""
    from .evaluation import QualityEvaluation  # here: these modules build on Callback, defined above
    from .health import Health
    from .reporting import HtmlReport, TensorBoardLog

    evaluation = [QualityEvaluation()] if config.evaluates else []  # first: the plot and report show its rows
    watching = [*([Health()] if config.health else []), *([TensorBoardLog()] if config.tensorboard else [])]
    return [*evaluation, LossPlot(), HtmlReport(), *watching]
