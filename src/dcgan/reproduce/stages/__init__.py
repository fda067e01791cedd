"""What each stage of a recipe does, by topic as the commands are (``cli/``): decode the data and train
(``train.py``), then one of the paper's experiments on the trained model (``conditional.py``, ``features.py``,
``metrics.py``, ``latent.py``, ``inside.py``).

Every stage is a function of the recipe's :class:`~dcgan.reproduce.context.Context` and the stage's folder
(and what it studies) that reads its settings, calls the experiment's entry point, the same one its
``dcgan`` command calls, writes the report's figures and tables into the folder, and returns an
:class:`~dcgan.reproduce.records.Outcome` that sets the results beside the paper's. A new stage is one
more such function in the module of its topic, and a line in its recipe (``recipes.py``).
"""

from .conditional import nn_protocol_stage
from .features import probe_progress, probe_stage
from .inside import forget_drawn_stage, forget_stage, guided_backprop_stage, memorisation_stage
from .latent import arithmetic_stage, classifier_stage, direction_stage, turn_stage, walk_stage
from .metrics import quality_stage
from .train import dedup_data, prepare_data, train_stage

__all__ = [
    "arithmetic_stage",
    "classifier_stage",
    "dedup_data",
    "direction_stage",
    "forget_drawn_stage",
    "forget_stage",
    "guided_backprop_stage",
    "memorisation_stage",
    "nn_protocol_stage",
    "prepare_data",
    "probe_progress",
    "probe_stage",
    "quality_stage",
    "train_stage",
    "turn_stage",
    "walk_stage",
]
