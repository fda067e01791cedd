"""MNIST-style IDX files (LeCun's format): plain, gzipped (.gz, the official distribution) or .xz."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import numpy as np
import torch

from ..errors import DCGANError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


_OPENERS = {".gz": gzip.open, ".xz": lzma.open}


def _candidates(folder: Path, stem: str) -> list[Path]:
    return [folder / stem, folder / f"{stem}.gz", folder / f"{stem}.xz"]


def _find_images_file(path: Path) -> Path | None:
    if path.is_file():
        return path if "idx3-ubyte" in path.name else None
    for stem in ("train-images-idx3-ubyte", "train-images.idx3-ubyte"):
        for cand in _candidates(path, stem):
            if cand.is_file():
                return cand
    return None


def is_idx(path: Path) -> bool:
    return _find_images_file(path) is not None


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


def read_images_and_labels(path: Path, limit: int | None = None) -> tuple[np.ndarray, torch.Tensor | None]:
    """Images (N, H, W) uint8 and, when the matching labels file sits beside them, labels."""
    images_file = _find_images_file(path)
    assert images_file is not None
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
        labels = torch.from_numpy(raw.astype(np.int64))
    if limit is not None:
        images, labels = images[:limit], None if labels is None else labels[:limit]
    return images, labels
