"""Callbacks that keep what a person looks at up to date while a run trains: report.html and TensorBoard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..report import write_report
from ..report.tensorboard import TensorBoardWriter
from .hooks import Callback

if TYPE_CHECKING:
    from .loop import Trainer


class HtmlReport(Callback):
    """Rewrites ``RUN/report.html`` after every epoch and at the end."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        write_report(trainer.run.root)

    def on_end(self, trainer: Trainer) -> None:
        write_report(trainer.run.root)


class TensorBoardLog(Callback):
    """Logs every metric row as it is written, and each epoch's sample grid and weight histograms."""

    def __init__(self) -> None:
        self.writer: TensorBoardWriter | None = None

    def on_start(self, trainer: Trainer) -> None:
        self.writer = TensorBoardWriter(trainer.run.tensorboard)

    def on_metrics(self, trainer: Trainer, rows: list[dict]) -> None:
        self.writer.scalars(rows)

    def on_epoch_end(self, trainer: Trainer) -> None:
        with Image.open(trainer.run.epoch_samples(trainer.epoch)) as grid:
            self.writer.image("samples", np.asarray(grid.convert("RGB")), trainer.step)
        self.writer.histograms("G", trainer.G, trainer.step)
        self.writer.histograms("D", trainer.D, trainer.step)

    def on_end(self, trainer: Trainer) -> None:
        self.writer.close()
