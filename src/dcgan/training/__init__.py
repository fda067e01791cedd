"""Training as in the paper (section 4): the config, one step, and the loop that keeps a run.

``step.py`` is the algorithm (one D update, one G update); ``loop.py`` is the bookkeeping
around it (data order, logging, checkpoints, Ctrl-C); ``state.py`` is what a checkpoint holds;
``runs.py`` starts, reopens and resumes a run folder; ``callbacks/`` is what watches a run;
``config.py`` holds every option.
"""

from .callbacks import Callback, RunView, default_callbacks
from .config import PRESETS, TrainConfig
from .loop import Trainer
from .runs import load_training_data, reopen, resume, start, train
from .state import Position, TrainingState
from .step import Precision, train_step

__all__ = [
    "PRESETS",
    "Callback",
    "Position",
    "Precision",
    "RunView",
    "TrainConfig",
    "Trainer",
    "TrainingState",
    "default_callbacks",
    "load_training_data",
    "reopen",
    "resume",
    "start",
    "train",
    "train_step",
]
