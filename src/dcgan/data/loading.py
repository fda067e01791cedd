"""Datasets: from files on disk to one uint8 tensor at the training resolution.

``load_dataset`` is the one entry point. It recognises the source by what the path holds
(see ``FORMATS``; ``archive.zip/inner/folder`` reads one folder of a zip), turns it into a
:class:`~dcgan.data.source.Source`, selects rows by :class:`SourceOptions` and decodes them
into ``ImageData.images`` (N, C, H, W, uint8). Batches are gathered from it by index and
normalised to [-1, 1] on the device, so training does no per-image Python work. With no path
it loads the bundled MNIST sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from ..errors import DCGANError
from . import download, prepared
from .cache import cache_folder, mark_used
from .formats import celeba, cifar, folder, idx, lsun, svhn
from .options import SourceOptions
from .source import ROW_FIELDS, Source, decode_into, matching, rows_of, selected_rows


@dataclass
class ImageData:
    """Decoded images plus whatever labels the source carries."""

    images: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor | None = None  # (N,) int64
    class_names: list[str] = field(default_factory=list)
    attributes: torch.Tensor | None = None  # (N, A) int8 in {-1, 1}, e.g. CelebA's 40 attributes
    attribute_names: list[str] = field(default_factory=list)
    # (N, P, 2) float32, e.g. CelebA's 5 points: (x right, y down) as fractions of the image's side, so the
    # same at every resolution; a point outside the crop is below 0 or above 1 (pixel column = x * side - 0.5)
    landmarks: torch.Tensor | None = None
    landmark_names: list[str] = field(default_factory=list)
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
    Format("a folder or .zip of images (class folders give labels)", folder.detect, folder.open_source),
]


def bundled_mnist_path() -> Path:
    """The MNIST sample shipped inside the package (see its ATTRIBUTION.md)."""
    return Path(str(resources.files("dcgan") / "assets" / "mnist-sample"))


def resolve_path(path: str | Path | None) -> Path:
    """The data folder or file that ``--data`` names: a path, a downloaded dataset's name, or nothing (the bundled
    MNIST sample)."""
    if path is None:
        return bundled_mnist_path()
    if not Path(path).exists() and (named := download.resolve_name(str(path))) is not None:
        return named
    path = Path(path).expanduser()
    if not path.exists() and folder.split_zip_path(path) is None:
        raise DCGANError(
            f"data path {path} does not exist",
            # no flag named: every command that reads data gets here, each with its own way to name it
            f"check the path, or name a downloaded set ({', '.join(download.DATASETS)})",
        )
    return path


def open_source(
    path: str | Path | None,
    resolution: int | None = None,
    channels: int | None = None,
    split: str | None = None,
    class_folder: str = "top",
) -> Source:
    """The :class:`Source` for ``path``, whichever format it is in (a prepared set is already decoded).

    ``class_folder`` applies to image folders, the one format whose classes are folder names."""
    path = resolve_path(path)
    for fmt in FORMATS:
        if fmt.detect(path):
            if fmt.open is None:
                raise DCGANError(f"{path} is already prepared", "train on it directly with --data")
            if fmt.open is folder.open_source:
                return folder.open_source(path, resolution, channels, split, class_folder)
            return fmt.open(path, resolution, channels, split)
    raise DCGANError(
        f"{path} is not a dataset dcgan can read",
        "give one of: " + "; ".join(f.name for f in FORMATS),
    )


def load_dataset(
    path: str | Path | None = None,
    *options: SourceOptions | int | bool | str | None,
    progress: bool = False,
    cache: bool = False,
    **option_values,
) -> ImageData:
    """Read ``path`` (or the bundled MNIST sample) with the data options of :class:`SourceOptions`.

    The options come as one ``SourceOptions``, or as its fields: ``load_dataset(path, 32)``,
    ``load_dataset(path, resolution=32, where="Smiling=1")`` and
    ``load_dataset(path, SourceOptions(resolution=32, where="Smiling=1"))`` are the same.
    ``resolution``/``channels`` default to the data's own: its shorter side rounded up to
    a power of two (at most 64, the paper's size) and 1 for grayscale sources, else 3.
    A prepared set (``dcgan prepare``) is memory-mapped, not read; with ``cache`` any
    other source is prepared once into the cache folder and memory-mapped from there.
    """
    options = SourceOptions.of(options, option_values)
    path = resolve_path(path)
    if prepared.detect(path):
        if options.split is not None:
            raise DCGANError(f"{path} is a prepared set; --split applies to its source", "prepare the split you want")
        return _load_prepared(path, options)
    if cache:
        whole = replace(options, limit=None, held_out=False)  # one cached copy serves every --limit (its rows)
        provenance = _provenance(path, whole)  # one walk of the source serves the key and the manifest
        entry = cache_folder(provenance)
        if not prepared.detect(entry):
            _write_prepared(path, entry, whole, provenance, progress)
        mark_used(entry)
        return _load_prepared(entry, SourceOptions(limit=options.limit, held_out=options.held_out))
    source = _open_selected(path, options)
    out = np.empty((source.count, source.channels, source.resolution, source.resolution), dtype=np.uint8)
    keep = decode_into(source, out, options.skip_bad, progress)
    return to_image_data(source, torch.from_numpy(out[: len(keep)]), keep)


def prepare_dataset(
    path: str | Path | None,
    out: str | Path,
    *options: SourceOptions | int | bool | str | None,
    progress: bool = False,
    **option_values,
) -> Path:
    """Decode ``path`` once into the prepared set ``out`` (images.npy + manifest.json); returns ``out``.

    The options come as in :func:`load_dataset`.
    """
    options = SourceOptions.of(options, option_values)
    path = resolve_path(path)
    return _write_prepared(path, Path(out), options, _provenance(path, options), progress)


def _provenance(path: Path, options: SourceOptions) -> dict:
    return {"source": prepared.fingerprint(path), "options": options.to_dict()}


def _open_selected(path: str | Path | None, options: SourceOptions) -> Source:
    """The source at ``path`` with the rows ``options`` select (split, attribute filter, limit), not decoded."""
    source = open_source(path, options.resolution, options.channels, options.split, options.class_folder)
    return source.where(options.conditions).limited(options.limit, options.held_out)


def _write_prepared(path: Path, out: Path, options: SourceOptions, provenance: dict, progress: bool) -> Path:
    return prepared.write_prepared(_open_selected(path, options), out, options.skip_bad, progress, provenance)


def _load_prepared(path: Path, options: SourceOptions) -> ImageData:
    manifest, fields = prepared.load(path, options.resolution, options.channels)
    data = ImageData(**fields, skipped=manifest["skipped"])
    if options.conditions:
        attributes = None if data.attributes is None else data.attributes.numpy()
        keep = matching(attributes, data.attribute_names, options.conditions, f"the prepared set {path}")
        data = _rows(data, torch.from_numpy(keep))  # a copy of the matching rows
    labels = None if data.labels is None else data.labels.numpy()
    rows = selected_rows(labels, len(data), options.limit, options.held_out, data.class_names)
    return data if rows is None else _rows(data, torch.from_numpy(rows))


def _rows(data: ImageData, rows: torch.Tensor) -> ImageData:
    return replace(data, images=data.images[rows], **rows_of(data, rows))


def default_test_split(train: str | Path) -> Path:
    """Where the test split of a training split usually lives: a sibling ``test`` folder, or MNIST's t10k files."""
    path = Path(train)
    if path.name == "train":
        return path.with_name("test")
    found = idx.find_images_file(path if path.is_dir() else path.parent, "test")
    if found is None:
        raise DCGANError(f"cannot tell where the test split of {train} is", "pass --test-data PATH")
    return found


def to_image_data(source: Source, images_tensor: torch.Tensor, keep: np.ndarray) -> ImageData:
    """Wrap decoded images with the labels/attributes/landmarks of the rows ``keep`` of ``source``."""
    rows = {
        name: None if values is None else torch.from_numpy(values) for name, values in rows_of(source, keep).items()
    }
    return ImageData(
        images=images_tensor,
        **rows,
        **{names: getattr(source, names) for names in ROW_FIELDS.values()},
        source=source.description,
        skipped=source.count - len(keep),
    )
