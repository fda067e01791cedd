"""TensorBoard event files: the same numbers as ``metrics.jsonl``, the epoch grids and weight histograms.

A thin writer over ``torch.utils.tensorboard`` (which needs the ``tensorboard`` package), so a
run can be watched with ``tensorboard --logdir RUN/tensorboard`` beside the HTML report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from ..errors import DCGANError
from .html import numeric_items


class TensorBoardWriter:
    """Appends scalars, images and histograms to the event files in one folder."""

    def __init__(self, folder: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise DCGANError("--tensorboard needs the tensorboard package", "pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(folder))

    def scalars(self, rows: list[dict]) -> None:
        """Every numeric key of metric rows, at the row's step (keys of rows with a ``kind`` under that kind)."""
        for row in rows:
            prefix = f"{row['kind']}/" if "kind" in row else ""
            for key, value in numeric_items(row):
                self.writer.add_scalar(prefix + key, value, row["step"])

    def image(self, tag: str, grid: np.ndarray, step: int) -> None:
        """A (H, W, C) uint8 picture, such as an epoch's sample grid."""
        self.writer.add_image(tag, grid, step, dataformats="HWC")

    def histograms(self, prefix: str, model: nn.Module, step: int) -> None:
        """One histogram per weight tensor of ``model``."""
        for name, param in model.named_parameters():
            self.writer.add_histogram(f"{prefix}/{name}", param.detach().float().cpu(), step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
