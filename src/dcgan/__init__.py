"""dcgan: the DCGAN of Radford, Metz & Chintala (ICLR 2016), faithful, fast and tested."""

from . import openmp  # noqa: F401  (first: it chooses how OpenMP threads wait, before anything loads torch)

# isort: split
from .core.checkpoints import load_checkpoint, load_generator
from .core.images import save_grid
from .core.models import Discriminator, Generator, ModelSpec
from .core.sampling import generate, sample_noise
from .data import ImageData, SourceOptions, load_dataset
from .errors import DCGANError
from .training import PRESETS, TrainConfig, Trainer, resume, train

__version__ = "0.1.0"  # the one place it is written: pyproject.toml reads it from here

__all__ = [
    "PRESETS",
    "DCGANError",
    "Discriminator",
    "Generator",
    "ImageData",
    "ModelSpec",
    "SourceOptions",
    "TrainConfig",
    "Trainer",
    "generate",
    "load_checkpoint",
    "load_dataset",
    "load_generator",
    "resume",
    "sample_noise",
    "save_grid",
    "train",
]
