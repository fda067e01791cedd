"""What watches a run, each a :class:`Callback` (hooks.py: the points of the loop, and :class:`RunView`, what a
callback may read): quality evaluation, the loss plot and report.html, health warnings, TensorBoard, and the
progress bars. :func:`default_callbacks` lists the ones a config asks for; the loop adds the bars itself.
"""

from __future__ import annotations

from ..config import TrainConfig
from .evaluation import QualityEvaluation
from .health import Health
from .hooks import Callback, RunView
from .progress import ProgressBars
from .reporting import HtmlReport, LossPlot, TensorBoardLog

__all__ = [
    "Callback",
    "Health",
    "HtmlReport",
    "LossPlot",
    "ProgressBars",
    "QualityEvaluation",
    "RunView",
    "TensorBoardLog",
    "default_callbacks",
]


def default_callbacks(config: TrainConfig) -> list[Callback]:
    """The callbacks a config asks for; ``train``/``resume`` use these unless given others."""
    evaluation = [QualityEvaluation()] if config.evaluates else []  # first: the plot and report show its rows
    watching = [*([Health()] if config.health else []), *([TensorBoardLog()] if config.tensorboard else [])]
    return [*evaluation, LossPlot(), HtmlReport(), *watching]
