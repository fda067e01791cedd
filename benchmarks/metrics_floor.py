"""The floor of the quality metrics, and how fast feature networks read images.

* ``floor``: FID, KID and precision/recall between two disjoint random samples of ``--n`` real
  images of one dataset, in each feature network given: what a perfect generator would score
  with that many images (FID is biased upwards at small n, so compare runs at the same n);
* ``speed``: images per second (wall and process CPU) of each network's feature extraction, and
  of the FID Inception-v3 with random weights (the cost does not depend on them; the reference
  weights file is not needed).

    python -m benchmarks.metrics_floor --data PATH [--split test] --resolution 32 --n 2000 \
        --features domain:DIR discriminator:CHECKPOINT [--metrics fid,kid,pr] [--inception-images 64]
"""

from __future__ import annotations

import argparse
import json

import torch

from dcgan import load_dataset
from dcgan.core.features import Extractor
from dcgan.core.sampling import seeded
from dcgan.metrics import feature_network, score
from dcgan.metrics.evaluate import parse_metrics, timed_features
from dcgan.metrics.inception import FEATURES, FIDInception, to_inception_input


def floor(name: str, extractor: Extractor, images: torch.Tensor, n: int, metrics: str, seed: int) -> None:
    order = torch.randperm(len(images), generator=seeded(seed))
    first, second = images[order[:n]], images[order[n : 2 * n]]
    a, b = timed_features(extractor, first, progress=False), timed_features(extractor, second, progress=False)
    values = score(a.values, b.values, parse_metrics(metrics), seed=seed)
    speed = {"images_per_s": round(2 * n / (a.wall_s + b.wall_s), 1), "cpu_s": round(a.cpu_s + b.cpu_s, 2)}
    print(json.dumps({"floor": {"features": name, "n": n, **values, **speed}}), flush=True)


def inception_speed(images: torch.Tensor) -> None:
    net = FIDInception().eval()
    extractor = Extractor("inception-v3 (random weights)", FEATURES, lambda b: net(to_inception_input(b)), max_batch=32)
    with torch.inference_mode():
        feats = timed_features(extractor, images, progress=False)
    report = {"images": len(images), "images_per_s": round(feats.images_per_second, 2), "cpu_s": round(feats.cpu_s, 1)}
    print(json.dumps({"speed": {"features": extractor.name, **report}}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="real images")
    parser.add_argument("--split", help="official split to read")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--n", type=int, default=2000, help="images in each of the two samples")
    parser.add_argument("--features", nargs="*", default=[], help="feature networks, as evaluate --features")
    parser.add_argument(
        "--metrics", default="fid,kid,pr", help="as evaluate --metrics (KID is slow on 7,168-d D features)"
    )
    parser.add_argument("--inception-images", type=int, default=0, help="images to time Inception on (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_dataset(args.data, resolution=args.resolution, split=args.split, cache=True)
    if len(data) < 2 * args.n:
        parser.error(f"{args.data} has {len(data)} images, fewer than 2 x --n")
    for spec in args.features:
        floor(spec, feature_network(spec), data.images, args.n, args.metrics, args.seed)
    if args.inception_images:
        inception_speed(data.images[: args.inception_images])


if __name__ == "__main__":
    main()
