"""Scoring a generator against real data: the API behind ``dcgan evaluate`` and evaluation during training.

Real images are a random sample of the set (image folders list class by class, so the first N
would be a few classes only); generated ones come from seeded z, so two evaluations of one
checkpoint agree exactly. Both go through the same feature network, whose name is part of
every result.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device
from ..core.features import Extractor, extract
from ..core.images import to_uint8_tensor
from ..core.models import Generator
from ..core.sampling import generate, sample_noise, seeded
from ..data import SourceOptions, load_dataset
from ..errors import DCGANError
from .distances import fid, kid, precision_recall
from .networks import feature_network

METRICS = ("fid", "kid", "pr")
# the values each metric adds to a result, and whether lower is better (for keeping the best checkpoint)
VALUES = {"fid": True, "kid": True, "kid_std": True, "precision": False, "recall": False}


def parse_metrics(metrics: str | Sequence[str]) -> list[str]:
    """ "fid,kid" or ["fid", "kid"] -> checked names, in the given order."""
    names = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise DCGANError(f"unknown metric {', '.join(unknown) or '(none)'}", f"choose among {','.join(METRICS)}")
    return names


def lower_is_better(value: str) -> bool:
    """Whether a smaller ``value`` (fid, kid, precision, recall) means a better generator."""
    if value not in VALUES:
        raise DCGANError(f"no metric value called {value!r}", f"choose one of {', '.join(VALUES)}")
    return VALUES[value]


def score(
    real: np.ndarray, fake: np.ndarray, metrics: Sequence[str] = METRICS, k: int = 3, seed: int = 0
) -> dict[str, float]:
    """The asked metrics between two feature sets: fid; kid and kid_std; precision and recall (k-NN, ``k``)."""
    values: dict[str, float] = {}
    for name in parse_metrics(metrics):
        if name == "fid":
            values["fid"] = fid(real, fake)
        elif name == "kid":
            values["kid"], values["kid_std"] = kid(real, fake, seed=seed)
        else:
            values["precision"], values["recall"] = precision_recall(real, fake, k)
    return values


@dataclass
class Features:
    """Features of one image set, and how long extracting them took (process CPU and wall seconds)."""

    values: np.ndarray
    wall_s: float
    cpu_s: float

    @property
    def images_per_second(self) -> float:
        return len(self.values) / max(self.wall_s, 1e-9)


def timed_features(
    extractor: Extractor, images: torch.Tensor, batch_size: int = 256, progress: bool = True
) -> Features:
    wall, cpu = time.perf_counter(), time.process_time()
    values = extract(extractor, images, batch_size=batch_size, progress=progress)
    return Features(values, time.perf_counter() - wall, time.process_time() - cpu)


def sample_images(images: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """A random ``n`` of ``images`` (all of them, in order, when there are no more than ``n``)."""
    if len(images) <= n:
        return images
    rows = torch.randperm(len(images), generator=seeded(seed))[:n].sort().values
    return images[rows]


def generated_images(G: Generator, n: int, seed: int = 0, noise: str = "normal", batch_size: int = 256) -> torch.Tensor:
    """``n`` uint8 samples of G (eval mode) from seeded z: the same images for the same seed.

    A class-conditional G draws every class equally often (labels 0, 1, ..., K-1, 0, ...).
    """
    z = sample_noise(n, G.spec.nz, noise, seeded(seed))
    labels = torch.arange(n) % G.spec.num_classes if G.spec.num_classes else None
    chunks = range(0, n, batch_size)
    return torch.cat(
        [
            to_uint8_tensor(generate(G, z[i : i + batch_size], None if labels is None else labels[i : i + batch_size]))
            for i in chunks
        ]
    )


@dataclass
class Evaluation:
    """One evaluation's figures, and what produced them."""

    features: str  # the feature network's name
    values: dict[str, float]
    n_real: int
    n_fake: int
    real: str
    checkpoint: str
    real_features: Features | None = None
    fake_features: Features | None = None

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if not k.endswith("_features")}
        for which in ("real", "fake"):
            feats = getattr(self, f"{which}_features")
            if feats is not None:
                out[f"{which}_images_per_second"] = feats.images_per_second
                out[f"{which}_cpu_s"] = feats.cpu_s
        return out

    def summary(self) -> str:
        figures = ", ".join(f"{k} {v:.4g}" for k, v in self.values.items())
        lines = [f"{figures}  ({self.n_fake:,} generated vs {self.n_real:,} real; features: {self.features})"]
        for which in ("real", "fake"):
            feats = getattr(self, f"{which}_features")
            if feats is not None:
                lines.append(
                    f"  {which} features: {feats.images_per_second:.0f} images/s"
                    f" ({feats.wall_s:.1f} s wall, {feats.cpu_s:.1f} s CPU)"
                )
        return "\n".join(lines)


def evaluate(
    checkpoint: str | Path,
    real: str | Path | None,
    features: str = "discriminator",
    metrics: str | Sequence[str] = METRICS,
    n: int = 10_000,
    seed: int = 0,
    k: int = 3,
    options: SourceOptions | None = None,
    batch_size: int = 256,
    device: str = "auto",
    progress: bool = True,
    generator: str = "auto",
) -> Evaluation:
    """Score the generator of ``checkpoint`` (``generator``: 'auto', 'ema' or 'raw', see
    :meth:`~dcgan.core.checkpoints.Checkpoint.generator`) against ``n`` random images of ``real`` (``None``: the
    bundled MNIST sample) with the feature network ``features`` (see :mod:`dcgan.metrics.networks`)."""
    names = parse_metrics(metrics)
    if n < 2:
        raise DCGANError(f"--n must be at least 2, not {n}")
    ckpt = load_checkpoint(checkpoint)
    dev = pick_device(device)
    extractor = feature_network(features, ckpt, dev)
    G = ckpt.generator(generator).to(dev)
    spec = G.spec
    options = replace(options or SourceOptions(), resolution=spec.resolution, channels=spec.channels)
    data = load_dataset(real, options, progress=progress, cache=True)
    real_feats = timed_features(extractor, sample_images(data.images, n, seed), batch_size, progress)
    fake_feats = timed_features(extractor, generated_images(G, n, seed, ckpt.noise), batch_size, progress)
    return Evaluation(
        features=extractor.name,
        values=score(real_feats.values, fake_feats.values, names, k, seed),
        n_real=len(real_feats.values),
        n_fake=len(fake_feats.values),
        real=data.source or str(real),
        checkpoint=str(ckpt.path),
        real_features=real_feats,
        fake_features=fake_feats,
    )
