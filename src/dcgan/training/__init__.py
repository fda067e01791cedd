"""Training as in the paper (section 4): the config, one step, and the loop that keeps a run.

``step.py`` is the algorithm (one D update, one G update); ``loop.py`` is the bookkeeping
around it (data order, logging, checkpoints, resume, Ctrl-C); ``config.py`` holds every option.
"""

from .config import PRESETS, TrainConfig
from .hooks import Callback
from .loop import Trainer, reopen, resume, start, train
from .step import Precision, train_step

__all__ = [
    "PRESETS",
    "Callback",
    "Precision",
    "TrainConfig",
    "Trainer",
    "reopen",
    "resume",
    "start",
    "train",
    "train_step",
]
