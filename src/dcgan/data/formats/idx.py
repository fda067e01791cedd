"""MNIST-style IDX files (LeCun's format): plain, gzipped (.gz, the official distribution) or .xz.

MNIST and Fashion-MNIST share the format and the file names; a folder whose path says
"fashion" gets Fashion-MNIST's class names. ``--split test`` reads the ``t10k-`` files.
"""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import numpy as np

from ...errors import DCGANError
from ..imaging import array_source
from ..source import Source

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


_OPENERS = {".gz": gzip.open, ".xz": lzma.open}


def _candidates(folder: Path, stem: str) -> list[Path]:
    return [folder / stem, folder / f"{stem}.gz", folder / f"{stem}.xz"]


FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}


def find_images_file(path: Path, split: str | None = None) -> Path | None:
    """The IDX images file of ``split`` (default train) in the folder ``path``, or ``path`` itself if it is one."""
    if path.is_file():
        return path if "idx3-ubyte" in path.name else None
    prefix = SPLIT_PREFIXES.get(split or "train")
    if prefix is None:
        raise DCGANError(f"MNIST has no split {split!r}", f"choose one of {', '.join(SPLIT_PREFIXES)}")
    for stem in (f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"):
        for cand in _candidates(path, stem):
            if cand.is_file():
                return cand
    return None


def detect(path: Path) -> bool:
    return any(find_images_file(path, split) is not None for split in SPLIT_PREFIXES)


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file into an array, checking its header against its length."""
    try:
        with _OPENERS.get(path.suffix, open)(path, "rb") as fh:
            blob = fh.read()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DCGANError(
            f"cannot read IDX file {path}: {exc}", "the file is corrupt or truncated; download it again"
        ) from None
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _DTYPES:
        raise DCGANError(
            f"{path} is not an IDX file (bad magic number)", "give MNIST files such as train-images-idx3-ubyte.gz"
        )
    ndim = blob[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[blob[2]])
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(blob) != expected:
        raise DCGANError(
            f"{path} is truncated or padded: {len(blob)} bytes, header says {expected}", "download the file again"
        )
    return np.frombuffer(blob, dtype=dtype, offset=header).reshape(dims)


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    images_file = find_images_file(path, split)
    if images_file is None:
        raise DCGANError(
            f"{path} has no {split or 'train'} split", "download it with dcgan download, or choose another --split"
        )
    images, labels = read_images_and_labels(images_file)
    meta = {}
    if labels is not None:
        names = FASHION_CLASSES if "fashion" in str(path.resolve()).lower() else [str(i) for i in range(10)]
        meta = {"labels": labels, "class_names": names}
    return array_source(images, resolution, channels, f"IDX file {images_file}", **meta)


def read_images_and_labels(images_file: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (N, H, W) uint8 and, when the matching labels file sits beside them, labels."""
    images = read_idx(images_file)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DCGANError(f"{images_file} holds {images.dtype} data of shape {images.shape}, not (N, H, W) uint8 images")
    stem = images_file.name.removesuffix(images_file.suffix) if images_file.suffix in _OPENERS else images_file.name
    labels_stem = stem.replace("images", "labels").replace("idx3", "idx1")
    labels_file = next((p for p in _candidates(images_file.parent, labels_stem) if p.is_file()), None)
    labels = None
    if labels_file is not None:
        raw = read_idx(labels_file)
        if raw.shape != (images.shape[0],):
            raise DCGANError(
                f"{labels_file} has {raw.shape[0]} labels for {images.shape[0]} images",
                "use the labels file that belongs to these images",
            )
        labels = raw.astype(np.int64)
    return images, labels
