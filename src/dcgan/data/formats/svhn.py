"""SVHN cropped digits: the official ``train_32x32.mat``, ``test_32x32.mat``, ``extra_32x32.mat``.

Each file holds ``X`` (32, 32, 3, N) and ``y`` (N, 1), where the digit 0 is labelled 10;
it is mapped to 0 here so labels are the digits themselves. Read by matlab.py, not scipy (which
crashes on some damaged files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DCGANError
from ..imaging import array_source
from ..source import Source
from . import matlab

SPLITS = ("train", "test", "extra")


def _file(path: Path, split: str | None) -> Path | None:
    if path.is_file():
        return path if path.name.endswith("_32x32.mat") else None
    return path / f"{split or 'train'}_32x32.mat"


def detect(path: Path) -> bool:
    if path.is_file():
        return _file(path, None) is not None
    return path.is_dir() and any((path / f"{s}_32x32.mat").is_file() for s in SPLITS)


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    if split is not None and split not in SPLITS:
        raise DCGANError(f"SVHN has no split {split!r}", f"choose one of {', '.join(SPLITS)}")
    mat_file = _file(path, split)
    if not mat_file.is_file():
        raise DCGANError(
            f"{mat_file} does not exist",
            f"download it with: dcgan download {'svhn-extra' if split == 'extra' else 'svhn'} (or pick another --split)",
        )
    try:
        mat = matlab.read_arrays(mat_file, ("X", "y"))
    except (OSError, ValueError) as exc:
        raise DCGANError(
            f"cannot read SVHN file {mat_file}: {exc}", "download it again (dcgan download svhn)"
        ) from None
    if set(mat) != {"X", "y"} or mat["X"].ndim != 4:
        raise DCGANError(f"{mat_file} holds no SVHN digits (no X of 4 dimensions and y)", "use the official file")
    images = np.asarray(mat["X"], dtype=np.uint8).transpose(3, 0, 1, 2)  # (N, 32, 32, 3)
    labels = np.asarray(mat["y"]).astype(np.int64).reshape(-1) % 10  # the digit 0 is stored as 10
    if images.shape[1:] != (32, 32, 3) or len(labels) != len(images):
        raise DCGANError(
            f"{mat_file} holds X {images.shape} and y {labels.shape}, not SVHN digits", "use the official file"
        )
    return array_source(
        images, resolution, channels, f"SVHN {mat_file}", labels=labels, class_names=[str(d) for d in range(10)]
    )
