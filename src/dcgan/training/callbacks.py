"""The callbacks a run gets unless it is given others: the loss plot, and what its config asks for
(quality evaluation, the report, health warnings, TensorBoard). The base class is in hooks.py,
which the callbacks' own modules import: this list sits above them all, so no import goes in a circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.rundir import EVAL, STEP
from .evaluation import QualityEvaluation
from .health import Health
from .hooks import Callback
from .plots import plot_losses
from .reporting import HtmlReport, TensorBoardLog

if TYPE_CHECKING:
    from .config import TrainConfig
    from .loop import Trainer

__all__ = ["Callback", "LossPlot", "default_callbacks"]  # Callback too: the loop takes both from here


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
    evaluation = [QualityEvaluation()] if config.evaluates else []  # first: the plot and report show its rows
    watching = [*([Health()] if config.health else []), *([TensorBoardLog()] if config.tensorboard else [])]
    return [*evaluation, LossPlot(), HtmlReport(), *watching]
