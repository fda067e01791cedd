"""The same real images for both pipelines, as an image folder because the baseline reads files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..common import SHARED_DATA

CIFAR_ZIP = SHARED_DATA / "cifar10-jpg.zip"
CIFAR_TRAIN = "cifar10/train"


def image_folder(count: int, cache: Path) -> Path:
    """The first ``count`` CIFAR-10 training JPEGs as an image folder (the baseline reads files);
    generated noise images when the real zip is absent."""
    folder = cache / f"images-{count}"
    if folder.is_dir() and len(list(folder.rglob("*.jpg"))) >= count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if CIFAR_ZIP.exists():
        with zipfile.ZipFile(CIFAR_ZIP) as zf:
            names = sorted(n for n in zf.namelist() if n.startswith(CIFAR_TRAIN) and n.endswith(".jpg"))
            step = max(1, len(names) // count)  # spread over all classes
            for i, name in enumerate(names[::step][:count]):
                target = folder / Path(name).parent.name / f"{i:05d}.jpg"
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(zf.read(name))
    else:
        rng = np.random.default_rng(0)
        for i in range(count):
            (folder / "noise").mkdir(exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / "noise" / f"{i:05d}.jpg")
    return folder
