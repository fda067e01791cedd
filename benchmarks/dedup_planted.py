"""Precision and recall of ``dcgan dedup`` on real CIFAR-10 test images with planted near copies.

    python benchmarks/dedup_planted.py [--images 5000] [--planted 250] [--radius 3 4 5]

Copies are resized down and up, re-encoded as JPEG (quality 70), or both (the helpers of
tests/test_datasets_dedup.py); a found pair counts as correct only if it is a planted pair.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import SHARED_DATA  # noqa: E402
from dcgan import load_dataset  # noqa: E402
from dcgan.data.dedup import find_duplicates  # noqa: E402
from test_datasets_dedup import plant  # noqa: E402


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
