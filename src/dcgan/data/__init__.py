"""Datasets: from files on disk to one uint8 tensor at the training resolution.

``load_dataset`` is the one entry point. It recognises the source by what the path holds
(see ``FORMATS``; ``archive.zip/inner/folder`` reads one folder of a zip), turns it into a
:class:`~dcgan.data.source.Source` and decodes that into ``ImageData.images`` (N, C, H, W,
uint8). Batches are gathered from it by index and normalised to [-1, 1] on the device, so
training does no per-image Python work. With no path it loads the bundled MNIST sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..errors import DCGANError
from . import celeba, cifar, download, idx, images, lsun, prepared, svhn
from .source import Source, decode_into, matching, parse_where


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


@dataclass(frozen=True)
class Format:
    name: str
    detect: Callable[[Path], bool]
    open: Callable[..., Source] | None  # (path, resolution, channels, split) -> Source; None: already decoded


# Checked in order: the specific layouts first, any folder/zip of images last.
FORMATS = [
    Format("a set written by dcgan prepare (manifest.json + images.npy)", prepared.detect, None),
    Format("MNIST / Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz])", idx.detect, idx.open_source),
    Format(
        "CIFAR-10/100, binary or python version (cifar-10-batches-bin/, ...-py/, or the .tar.gz)",
        cifar.detect,
        cifar.open_source,
    ),
    Format("SVHN cropped digits (train_32x32.mat, test_32x32.mat, extra_32x32.mat)", svhn.detect, svhn.open_source),
    Format("CelebA (img_align_celeba/ + list_attr_celeba.txt, folder or zip)", celeba.detect, celeba.open_source),
    Format("LSUN LMDB database(s) (a folder with data.mdb, or a folder of them)", lsun.detect, lsun.open_source),
    Format("a folder or .zip of images (class folders give labels)", images.detect, images.open_source),
]


def bundled_mnist_path() -> Path:
    """The MNIST sample shipped inside the package (see its ATTRIBUTION.md)."""
    return Path(str(resources.files("dcgan") / "assets" / "mnist-sample"))


def resolve_path(path: str | Path | None) -> Path:
    """The data folder or file that ``--data`` names: a path, a downloaded dataset's name, or nothing (the bundled
    MNIST sample)."""
    if path is None:
        return bundled_mnist_path()
    if not Path(path).exists() and (folder := download.resolve_name(str(path))) is not None:
        return folder
    path = Path(path).expanduser()
    if not path.exists() and images.split_zip_path(path) is None:
        raise DCGANError(
            f"data path {path} does not exist",
            f"check the path, name a downloaded set ({', '.join(download.DATASETS)}),"
            " or omit --data to use the bundled MNIST sample",
        )
    return path


def open_source(
    path: str | Path | None,
    resolution: int | None = None,
    channels: int | None = None,
    split: str | None = None,
) -> Source:
    """The :class:`Source` for ``path``, whichever format it is in (a prepared set is already decoded)."""
    path = resolve_path(path)
    for fmt in FORMATS:
        if fmt.detect(path):
            if fmt.open is None:
                raise DCGANError(f"{path} is already prepared", "train on it directly with --data")
            return fmt.open(path, resolution, channels, split)
    raise DCGANError(
        f"{path} is not a dataset dcgan can read",
        "give one of: " + "; ".join(f.name for f in FORMATS),
    )


def load_dataset(
    path: str | Path | None = None,
    resolution: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
    skip_bad: bool = False,
    *,
    where: str | dict[str, int] | None = None,
    split: str | None = None,
    progress: bool = False,
    cache: bool = False,
) -> ImageData:
    """Read ``path`` (or the bundled MNIST sample) at ``resolution`` x ``resolution``.

    ``resolution``/``channels`` default to the data's own: its shorter side rounded up to
    a power of two (at most 64, the paper's size) and 1 for grayscale sources, else 3.
    ``where`` keeps images whose attributes match (``"Smiling=1,Male=-1"``); ``split``
    picks an official split (``train``, ``test``, ...) where the format has them.
    A prepared set (``dcgan prepare``) is memory-mapped, not read; with ``cache`` any
    other source is prepared once into the cache folder and memory-mapped from there.
    """
    where = parse_where(where)
    path = resolve_path(path)
    if prepared.detect(path):
        if split is not None:
            raise DCGANError(f"{path} is a prepared set; --split applies to its source", "prepare the split you want")
        return _load_prepared(path, resolution, channels, limit, where)
    options = dict(resolution=resolution, channels=channels, limit=limit, skip_bad=skip_bad, where=where, split=split)
    if cache:
        provenance = {"source": prepared.fingerprint(path), "options": options}  # one walk of the source serves both
        folder = prepared.cache_folder(provenance)
        if not prepared.detect(folder):
            _write_prepared(path, folder, options, provenance, progress)
        prepared.mark_used(folder)
        return _load_prepared(folder, None, None, None, {})
    source = _open_selected(path, options)
    out = np.empty((source.count, source.channels, source.resolution, source.resolution), dtype=np.uint8)
    keep = decode_into(source, out, skip_bad, progress)
    return to_image_data(source, torch.from_numpy(out[: len(keep)]), keep)


def prepare_dataset(
    path: str | Path | None,
    out: str | Path,
    resolution: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
    skip_bad: bool = False,
    *,
    where: str | dict[str, int] | None = None,
    split: str | None = None,
    progress: bool = False,
) -> Path:
    """Decode ``path`` once into the prepared set ``out`` (images.npy + manifest.json); returns ``out``."""
    path = resolve_path(path)
    options = dict(
        resolution=resolution, channels=channels, limit=limit, skip_bad=skip_bad, where=parse_where(where), split=split
    )
    provenance = {"source": prepared.fingerprint(path), "options": options}
    return _write_prepared(path, Path(out), options, provenance, progress)


def _open_selected(path: Path, options: dict) -> Source:
    """The source at ``path`` with the rows ``options`` select (split, attribute filter, limit)."""
    source = open_source(path, options["resolution"], options["channels"], options["split"])
    return source.where(options["where"]).limited(options["limit"])


def _write_prepared(path: Path, out: Path, options: dict, provenance: dict, progress: bool) -> Path:
    return prepared.write_prepared(_open_selected(path, options), out, options["skip_bad"], progress, provenance)


def _load_prepared(
    path: Path, resolution: int | None, channels: int | None, limit: int | None, where: dict[str, int]
) -> ImageData:
    manifest, fields = prepared.load(path, resolution, channels)
    data = ImageData(**fields, skipped=manifest["skipped"])
    if where:
        attributes = None if data.attributes is None else data.attributes.numpy()
        keep = matching(attributes, data.attribute_names, where, f"the prepared set {path}")
        data = _rows(data, torch.from_numpy(keep))  # a copy of the matching rows
    if limit is not None:
        data = _rows(data, slice(0, limit))  # a view: still memory-mapped
    return data


def _rows(data: ImageData, rows: torch.Tensor | slice) -> ImageData:
    def pick(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[rows]

    return replace(data, images=data.images[rows], labels=pick(data.labels), attributes=pick(data.attributes))


def load_training_data(config) -> ImageData:
    """The dataset a :class:`~dcgan.config.TrainConfig` names, with all its data options."""
    return load_dataset(
        config.data,
        config.resolution,
        config.channels,
        config.limit,
        config.skip_bad,
        where=config.where,
        split=config.split,
        progress=config.progress,
        cache=config.cache,
    )


def to_image_data(source: Source, images_tensor: torch.Tensor, keep: np.ndarray) -> ImageData:
    """Wrap decoded images with the labels/attributes of the rows ``keep`` of ``source``."""
    return ImageData(
        images=images_tensor,
        labels=None if source.labels is None else torch.from_numpy(source.labels[keep]),
        class_names=source.class_names,
        attributes=None if source.attributes is None else torch.from_numpy(source.attributes[keep]),
        attribute_names=source.attribute_names,
        source=source.description,
        skipped=source.count - len(keep),
    )
