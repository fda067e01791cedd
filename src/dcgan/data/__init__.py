"""Datasets: from files on disk to one uint8 tensor held in memory.

Every source is decoded once into ``ImageData.images`` (N, C, H, W, uint8, already at the
training resolution); batches are gathered from it by index and normalised to [-1, 1] on
the device, so training does no per-image Python work. ``load_dataset`` picks the reader
from what the path is (``archive.zip/inner/folder`` reads one folder of a zip, e.g. a
split); with no path it loads the MNIST sample bundled with the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from ..errors import DCGANError
from . import idx, images


@dataclass
class ImageData:
    """Decoded images plus whatever labels the source carries."""

    images: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor | None = None  # (N,) int64
    class_names: list[str] = field(default_factory=list)
    attributes: torch.Tensor | None = None  # (N, A) int8 in {-1, 1}, e.g. CelebA's 40 attributes
    attribute_names: list[str] = field(default_factory=list)
    source: str = ""
    skipped: int = 0  # unreadable files skipped with --skip-bad

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]

    @property
    def channels(self) -> int:
        return self.images.shape[1]


def bundled_mnist_path() -> Path:
    """The MNIST sample shipped inside the package (see its ATTRIBUTION.md)."""
    return Path(str(resources.files("dcgan") / "assets" / "mnist-sample"))


def load_dataset(
    path: str | Path | None = None,
    resolution: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
    skip_bad: bool = False,
) -> ImageData:
    """Read ``path`` (or the bundled MNIST sample) into memory at ``resolution`` x ``resolution``.

    ``resolution``/``channels`` default to the data's own: its shorter side rounded up to
    a power of two (at most 64, the paper's size) and 1 for grayscale sources, else 3.
    """
    path = bundled_mnist_path() if path is None else Path(path).expanduser()
    if not path.exists() and images.split_zip_path(path) is None:
        raise DCGANError(
            f"data path {path} does not exist", "check the path, or omit --data to use the bundled MNIST sample"
        )
    if idx.is_idx(path):
        raw, labels = idx.read_images_and_labels(path, limit)
        data = images.from_arrays(raw, resolution, channels)
        return ImageData(data, labels, [str(i) for i in range(10)] if labels is not None else [], str(path))
    if path.is_dir() or images.is_zip(path) or images.split_zip_path(path) or images.is_image_file(path):
        return ImageData(**images.read_image_collection(path, resolution, channels, limit, skip_bad), source=str(path))
    raise DCGANError(
        f"{path} is not a dataset dcgan can read",
        "give a folder or .zip of images, or MNIST IDX files (train-images-idx3-ubyte[.gz])",
    )
