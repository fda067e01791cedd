"""What every stage of a recipe is given: where it reads and writes, its scale's settings, how to train.

This module owns the names inside a results folder that stages read from one another: a training
stage's run (``NN-STAGE/run``, its last checkpoint) and the attribute classifier's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..core.checkpoints import Checkpoint, load_checkpoint
from ..experiments.attributes import AttributeClassifier, load_classifier
from ..training import Callback
from .settings import RecipeSettings

CONFIGS = "configs"  # the package folder of the recipes' training config files: configs/RECIPE/SCALE/STAGE.json
RUN = "run"  # the training run inside a training stage's folder
CHECKPOINT = f"{RUN}/checkpoints/last.safetensors"
CLASSIFIER = "classifier.safetensors"  # the attribute classifier inside the classifier stage's folder


def config_file(recipe: str, scale: str, stage: str) -> Path:
    """The shipped training config of a recipe's ``stage`` (copy it, edit it, pass it to ``dcgan train --config``)."""
    return Path(str(resources.files("dcgan.reproduce") / CONFIGS / recipe / scale / f"{stage}.json"))


@dataclass
class Context:
    """One recipe at one scale: where it reads and writes, the scale's settings, how to train."""

    recipe: str
    scale: str
    results: Path
    data: dict[str, tuple[Path, Path | None]]  # data set name -> (train, test)
    settings: RecipeSettings
    device: str = "auto"
    progress: bool = True
    callbacks: list[Callback] = field(default_factory=list)  # extra training callbacks (watching a run)
    stage_folders: dict[str, Path] = field(default_factory=dict)  # stage name -> its folder
    data_root: Path = Path(".")  # where ``data`` was found

    def config_file(self, stage: str) -> Path:
        return config_file(self.recipe, self.scale, stage)

    def checkpoint(self, stage: str = "train") -> Path:
        return self.stage_folders[stage] / CHECKPOINT

    def trained(self, stage: str = "train") -> Checkpoint:
        """The last checkpoint of a training stage: the model the experiment stages after it study."""
        return load_checkpoint(self.checkpoint(stage))

    def classifier(self) -> AttributeClassifier:
        """The attribute classifier the classifier stage trained, which picks exemplars and scores samples."""
        return load_classifier(self.stage_folders["classifier"] / CLASSIFIER)
