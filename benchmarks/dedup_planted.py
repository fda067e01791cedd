"""Precision and recall of ``dcgan dedup`` on real CIFAR-10 test images with planted near copies.

    python -m benchmarks.dedup_planted [--images 5000] [--planted 250] [--radius 3 4 5]

Copies are resized down and up, re-encoded as JPEG (quality 70), or both (``plant`` below, which
tests/data/test_dedup.py uses too); a found pair counts as correct only if it is a planted pair.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import torch
from PIL import Image

from dcgan import load_dataset
from dcgan.data.dedup import find_duplicates

from .common import SHARED_DATA


def near_copy(img: torch.Tensor, kind: int) -> torch.Tensor:
    """Resized down and up, re-encoded as JPEG (quality 70), or both."""
    pil = Image.fromarray(img.permute(1, 2, 0).numpy())
    if kind in (0, 2):
        pil = pil.resize((24, 24), Image.BILINEAR).resize((32, 32), Image.BICUBIC)
    if kind in (1, 2):
        buf = io.BytesIO()
        pil.save(buf, "JPEG", quality=70)
        pil = Image.open(buf).convert("RGB")
    return torch.from_numpy(np.asarray(pil).transpose(2, 0, 1).copy())


def plant(base: torch.Tensor, count: int, seed: int = 0) -> tuple[torch.Tensor, set[tuple[int, int]]]:
    """``base`` followed by near copies of ``count`` random images of it; the planted (original, copy) pairs."""
    originals = np.random.default_rng(seed).choice(len(base), count, replace=False)
    copies = torch.stack([near_copy(base[i], k % 3) for k, i in enumerate(originals)])
    return torch.cat([base, copies]), {(int(i), len(base) + k) for k, i in enumerate(originals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=5000, help="real CIFAR-10 test images")
    parser.add_argument("--planted", type=int, default=250, help="near copies added")
    parser.add_argument("--radius", type=int, nargs="+", default=[3, 4, 5], help="Hamming radii to try")
    args = parser.parse_args()
    base = load_dataset(SHARED_DATA / "cifar10-jpg.zip", resolution=32, split="test", limit=args.images).images
    images, planted = plant(base, args.planted, seed=0)
    for radius in args.radius:
        start = time.perf_counter()
        found = {tuple(p) for p in find_duplicates(images, radius=radius).pairs.tolist()}
        hits = len(found & planted)
        print(
            f"radius {radius}: {len(found)} pairs found, {hits} of {len(planted)} planted; "
            f"precision {hits / max(len(found), 1):.3f}, recall {hits / len(planted):.3f} "
            f"({time.perf_counter() - start:.1f} s for {len(images)} images)"
        )


if __name__ == "__main__":
    main()
