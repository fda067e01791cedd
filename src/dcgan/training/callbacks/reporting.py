"""Callbacks that keep what a person looks at up to date while a run trains: the loss plot (drawn by plots.py),
report.html and TensorBoard."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ...core.rundir import EVAL, STEP
from ...report import write_report
from ...report.tensorboard import TensorBoardWriter
from .hooks import Callback, RunView
from .plots import plot_losses


class LossPlot(Callback):
    """Redraws ``loss.png`` from the metrics file after every epoch (with a quality panel once evaluations exist)."""

    def on_epoch_end(self, trainer: RunView) -> None:
        rows = trainer.run.read_metrics(None)  # the file once: training steps and quality evaluations
        steps = [row for row in rows if row.get("kind", STEP) == STEP]
        plot_losses(steps, trainer.run.loss_plot, [row for row in rows if row.get("kind") == EVAL])

    def on_end(self, trainer: RunView) -> None:
        if trainer.config.evaluates:  # the final evaluation comes after the last epoch's plot
            self.on_epoch_end(trainer)


class HtmlReport(Callback):
    """Rewrites ``RUN/report.html`` after every epoch and at the end."""

    def on_epoch_end(self, trainer: RunView) -> None:
        write_report(trainer.run.root)

    def on_end(self, trainer: RunView) -> None:
        write_report(trainer.run.root)


class TensorBoardLog(Callback):
    """Logs every metric row as it is written, and each epoch's sample grid and weight histograms."""

    def __init__(self) -> None:
        self.writer: TensorBoardWriter | None = None

    def on_start(self, trainer: RunView) -> None:
        self.writer = TensorBoardWriter(trainer.run.tensorboard)

    def on_metrics(self, trainer: RunView, rows: list[dict]) -> None:
        self.writer.scalars(rows)

    def on_epoch_end(self, trainer: RunView) -> None:
        with Image.open(trainer.run.epoch_samples(trainer.epoch)) as grid:
            self.writer.image("samples", np.asarray(grid.convert("RGB")), trainer.step)
        self.writer.histograms("G", trainer.G, trainer.step)
        self.writer.histograms("D", trainer.D, trainer.step)

    def on_end(self, trainer: RunView) -> None:
        self.writer.close()
