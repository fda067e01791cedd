"""Shared fixtures: tiny configs and data so every test runs in seconds on a CPU."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import ImageData, TrainConfig

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(name: str) -> Path:
    """A file of ../shared/data, or skip the test where that folder is absent (a user's clone)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def blobs(n: int = 256, resolution: int = 16, channels: int = 1, seed: int = 0) -> ImageData:
    """Bright discs of random position and size on a dark background: easy to learn, not constant."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:resolution, :resolution]
    cy, cx = rng.uniform(4, resolution - 4, (2, n, 1, 1))
    r = rng.uniform(2, resolution / 4, (n, 1, 1))
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).astype(np.uint8) * 220 + 20
    images = np.repeat(disc[:, None], channels, axis=1)
    labels = torch.from_numpy((r[:, 0, 0] > resolution / 8).astype(np.int64))
    return ImageData(torch.from_numpy(images), labels, ["small", "large"], "blobs")


def tiny_config(tmp_path: Path, **overrides) -> TrainConfig:
    values = dict(
        g_width=8,
        d_width=8,
        nz=16,
        batch_size=32,
        epochs=2,
        sample_count=16,
        log_every=3,
        progress=False,
        out=str(tmp_path / "run"),
    )
    values.update(overrides)
    return TrainConfig(**values)


def write_images(folder: Path, specs: list[tuple[str, str, tuple[int, int]]], seed: int = 0) -> list[Path]:
    """Write (relative name, PIL mode, (w, h)) images filled with seeded noise."""
    rng = np.random.default_rng(seed)
    paths = []
    for name, mode, (w, h) in specs:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        bands = {"L": 1, "RGB": 3, "RGBA": 4}.get(mode)
        if mode == "I;16":
            img = Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16))
        elif mode == "P":
            img = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).convert("P")
        else:
            arr = rng.integers(0, 255, (h, w, bands), dtype=np.uint8)
            img = Image.fromarray(arr[..., 0] if bands == 1 else arr, mode)
        img.save(path)
        paths.append(path)
    return paths


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Prepared copies made by training runs go to a temporary folder, never the user's ~/.cache."""
    os.environ["DCGAN_CACHE"] = str(tmp_path_factory.mktemp("dcgan-cache"))


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def single_thread():
    """Run with one torch thread: on tiny tensors, waking a second thread on a busy machine costs more than it saves."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
