"""The discriminator as a feature extractor (the paper's section 5.1).

Every chosen convolutional layer's output is max-pooled to a 4x4 grid (adaptive max pooling,
so any map size works), flattened and concatenated. For the paper's ImageNet model that gave
28,672 dimensions: 16 x (256 + 512 + 1024), the last three layers of the ``paper`` preset at
64x64. The same batching and ``.npy`` writing (``core/features.py``, shared with the quality metrics)
serves every extractor (a DCGAN's D, a randomly initialised D, raw pixels, K-means features),
so baselines go through exactly the same path.
Features are written as float32 ``.npy`` memory maps, so 50,000 x 28,672 (5.7 GB) never has to
fit in memory at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.checkpoints import load_checkpoint
from ..core.features import (  # noqa: F401  (D's features and the batching path are defined in core, used from here)
    GRID,
    Extractor,
    conv_layers,
    discriminator_extractor,
    extract,
    feature_dim,
    pool_and_concat,
)
from ..core.images import to_unit_range
from ..core.models import Discriminator, ModelSpec
from ..data import ImageData, load_dataset
from ..errors import DCGANError


def load_images_for(spec: ModelSpec, path: str | Path, limit: int | None = None, held_out: bool = False) -> ImageData:
    """Images (and their labels) read at the size and channels of the networks of ``spec`` (``held_out``: those
    ``limit`` leaves out)."""
    return load_dataset(path, resolution=spec.resolution, channels=spec.channels, limit=limit, held_out=held_out)


def load_discriminator(checkpoint: str | Path) -> Discriminator:
    """A trained discriminator from a checkpoint file or run folder (no pickle)."""
    return load_checkpoint(checkpoint).network("D")


def random_discriminator(spec: ModelSpec, seed: int = 0) -> Discriminator:
    """The same architecture with the paper's random initialisation: the 'untrained' baseline."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Discriminator(spec).eval()


def pixel_extractor(resolution: int, channels: int) -> Extractor:
    """Raw pixels in [-1, 1], flattened: the no-learning baseline."""
    return Extractor(
        "raw pixels", channels * resolution**2, lambda b: to_unit_range(b).flatten(1), resolution, channels
    )


def _normalise_patches(patches: torch.Tensor) -> torch.Tensor:
    """Coates & Ng's per-patch brightness and contrast normalisation (pixels in 0..255)."""
    centred = patches - patches.mean(dim=1, keepdim=True)
    return centred / (patches.var(dim=1, keepdim=True) + 10.0).sqrt()


def _patches(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> every size x size patch, stride 1: (N, positions, C * size^2) float."""
    return F.unfold(images.float(), size).transpose(1, 2)


def _quadrant_sum(maps: torch.Tensor) -> torch.Tensor:
    """(N, K, H, W) -> (N, 4K): the sum over each image quadrant."""
    h, w = (maps.shape[-2] + 1) // 2, (maps.shape[-1] + 1) // 2
    quads = [maps[..., :h, :w], maps[..., :h, w:], maps[..., h:, :w], maps[..., h:, w:]]
    return torch.cat([q.sum(dim=(-2, -1)) for q in quads], dim=1)


def kmeans_extractor(
    images: torch.Tensor, k: int = 1600, patch: int = 6, num_patches: int = 100_000, seed: int = 0
) -> Extractor:
    """Single-layer K-means features (Coates, Lee & Ng, AISTATS 2011), fitted on ``images`` without labels.

    Random ``patch`` x ``patch`` patches are normalised and ZCA-whitened, K-means finds ``k``
    centroids; an image's feature is the triangle activation max(0, mean_j z_j - z_k) of the
    distances z_k of each of its (stride 1) patches to the centroids, sum-pooled over the four
    quadrants: 4k dimensions.
    """
    n, c, h, w = images.shape
    if min(h, w) < patch:
        raise DCGANError(f"images of {h}x{w} are smaller than the {patch}x{patch} K-means patches")
    rng = np.random.default_rng(seed)
    which = torch.from_numpy(rng.integers(0, n, num_patches))
    ys, xs = (torch.from_numpy(rng.integers(0, s - patch + 1, num_patches)) for s in (h, w))
    offsets = torch.arange(patch)
    crops = images[  # (num_patches, c, patch, patch)
        which.view(-1, 1, 1, 1),
        torch.arange(c).view(1, -1, 1, 1),
        (ys[:, None] + offsets).view(-1, 1, patch, 1),
        (xs[:, None] + offsets).view(-1, 1, 1, patch),
    ]
    sample = _normalise_patches(crops.flatten(1).double())
    mean = sample.mean(dim=0)
    eigval, eigvec = torch.linalg.eigh(torch.cov(sample.T))
    zca = (eigvec * (eigval + 0.1).rsqrt()) @ eigvec.T
    whitened = ((sample - mean) @ zca).float()
    from sklearn.cluster import KMeans  # on first use: scikit-learn takes a second to import

    km = KMeans(k, n_init=1, max_iter=100, random_state=seed).fit(whitened.numpy())
    centroids = torch.from_numpy(km.cluster_centers_).float()
    mean, zca = mean.float(), zca.float()

    def fn(batch: torch.Tensor) -> torch.Tensor:
        x = (_normalise_patches(_patches(batch, patch).flatten(0, 1)) - mean) @ zca
        z = torch.cdist(x, centroids)
        act = (z.mean(dim=1, keepdim=True) - z).clamp_(min=0)
        side_h, side_w = h - patch + 1, w - patch + 1
        maps = act.reshape(batch.shape[0], side_h, side_w, k).permute(0, 3, 1, 2)
        return _quadrant_sum(maps)

    positions = (h - patch + 1) * (w - patch + 1)
    return Extractor(f"k-means (k={k})", 4 * k, fn, h, c, max_batch=max(1, 2**25 // (positions * k)))
