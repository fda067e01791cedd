"""dcgan: the DCGAN of Radford, Metz & Chintala (ICLR 2016), faithful, fast and tested."""

from .checkpoints import load_checkpoint, load_generator
from .config import PRESETS, TrainConfig
from .data import ImageData, load_dataset
from .errors import DCGANError
from .models import Discriminator, Generator, ModelSpec
from .sampling import generate, sample_noise, save_grid
from .training import Trainer, resume, train

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "DCGANError",
    "Discriminator",
    "Generator",
    "ImageData",
    "ModelSpec",
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
