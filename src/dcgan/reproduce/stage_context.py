"""What every stage of a recipe is given: where it reads and writes, its scale's settings, how to train.

This module owns the names inside a results folder that stages read from one another: a training
stage's run (``NN-STAGE/run``, its last checkpoint) and the attribute classifier's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..core.checkpoints import Checkpoint, load_checkpoint
from ..core.models import ModelSpec
from ..data import ImageData
from ..errors import DCGANError
from ..experiments.attributes import AttributeClassifier, load_classifier
from ..experiments.features import load_images_for
from ..training import Callback
from ..training.options_file import read_options
from .settings import RecipeSettings

CONFIGS = "configs"  # the package folder of the recipes' training config files: configs/RECIPE/SCALE/STAGE.json
RUN = "run"  # the training run inside a training stage's folder
CHECKPOINT = f"{RUN}/checkpoints/last.safetensors"
CLASSIFIER = "classifier.safetensors"  # the attribute classifier inside the classifier stage's folder
UNIQUE = "unique"  # the data stage's copy of a data set without its near duplicates: DATASET-unique/


@dataclass(frozen=True)
class Levers:
    """What ``dcgan reproduce`` changes in a recipe on the command line, to try a lever of a missed target: G's and
    D's base widths in every training config, and the D-feature probe's checkpoint chosen on validation. A results
    folder records them, and its page's command shows them."""

    g_width: int | None = None
    d_width: int | None = None
    pick_by_validation: bool = False

    def __post_init__(self) -> None:
        for key, value in self.widths().items():
            if value < 1:
                raise DCGANError(f"--{key.replace('_', '-')} {value} is not a width", "give a number of maps, e.g. 128")

    def widths(self) -> dict[str, int]:
        """The training options they replace: ``g_width``, ``d_width``."""
        return {
            key: value for key, value in (("g_width", self.g_width), ("d_width", self.d_width)) if value is not None
        }

    def flags(self) -> str:
        """The command-line flags that ask for them (`` --g-width 128``), in a fixed order; empty for none."""
        flags = "".join(f" --{key.replace('_', '-')} {value}" for key, value in self.widths().items())
        return flags + (" --pick-by-validation" if self.pick_by_validation else "")

    def to_dict(self) -> dict:
        return {**self.widths(), **({"pick_by_validation": True} if self.pick_by_validation else {})}

    @classmethod
    def from_dict(cls, d: dict) -> Levers:
        return cls(d.get("g_width"), d.get("d_width"), bool(d.get("pick_by_validation")))


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
    levers: Levers = field(default_factory=Levers)  # chosen on the command line over the recipe's own

    def config_file(self, stage: str) -> Path:
        return config_file(self.recipe, self.scale, stage)

    def train_options(self, stage: str) -> dict:
        """A training stage's options: its config file, with the widths chosen on the command line."""
        return read_options(self.config_file(stage)) | self.levers.widths()

    def training_source(self, dataset: str) -> Path:
        """What training reads: the data stage's copy without near duplicates where the recipe removes them
        (``dedup_radius``), else the data set where it was found."""
        if self.settings.dedup_radius is not None:
            return self.stage_folders["data"] / f"{dataset}-{UNIQUE}"
        return self.data[dataset][0]

    def holds_out(self, stage: str = "train") -> bool:
        """Whether the training stage reads a ``--limit`` of its data, the rest held out of training."""
        return read_options(self.config_file(stage)).get("limit") is not None

    def real_images(self, dataset: str, spec: ModelSpec, held_out: bool = False, stage: str = "train") -> ImageData:
        """The real images a training stage read (its config's ``--limit`` of :meth:`training_source`) at the size
        of ``spec``; with ``held_out``, the ones its ``--limit`` left out, which the model never saw."""
        limit = read_options(self.config_file(stage)).get("limit")
        if held_out and limit is None:
            raise DCGANError(f"the {stage} stage of the {self.recipe} recipe trains on every image: none is held out")
        return load_images_for(spec, self.training_source(dataset), limit, held_out=held_out)

    def checkpoint(self, stage: str = "train") -> Path:
        return self.stage_folders[stage] / CHECKPOINT

    def trained(self, stage: str = "train") -> Checkpoint:
        """The last checkpoint of a training stage: the model the experiment stages after it study."""
        return load_checkpoint(self.checkpoint(stage))

    def classifier(self) -> AttributeClassifier:
        """The attribute classifier the classifier stage trained, which picks exemplars and scores samples."""
        return load_classifier(self.stage_folders["classifier"] / CLASSIFIER)
