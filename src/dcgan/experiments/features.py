"""The discriminator as a feature extractor (the paper's section 5.1).

Every chosen convolutional layer's output is max-pooled to a 4x4 grid (adaptive max pooling,
so any map size works), flattened and concatenated. For the paper's ImageNet model that gave
28,672 dimensions: 16 x (256 + 512 + 1024), the last three layers of the ``paper`` preset at
64x64. The same batching and ``.npy`` writing serves every extractor (a DCGAN's D, a randomly
initialised D, raw pixels, K-means features), so baselines go through exactly the same path.
Features are written as float32 ``.npy`` memory maps, so 50,000 x 28,672 (5.7 GB) never has to
fit in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans

from ..core.checkpoints import load_checkpoint
from ..core.images import to_unit_range
from ..core.models import Discriminator, ModelSpec
from ..core.progress import progress_bar
from ..data import ImageData, load_dataset
from ..errors import DCGANError

GRID = 4  # the paper pools every layer to 4x4


def conv_layers(D: Discriminator) -> list[str]:
    """D's convolutional blocks (``down1`` ... ``downK``), the paper's feature layers."""
    return [name for name in D.blocks if name.startswith("down")]


def _check_layers(D: Discriminator, layers: Sequence[str] | None) -> list[str]:
    available = conv_layers(D)
    if layers is None:
        return available
    unknown = [name for name in layers if name not in available]
    if unknown or not layers:
        raise DCGANError(
            f"no discriminator layer named {', '.join(unknown) or '(none given)'}",
            f"choose from {', '.join(available)}",
        )
    return [name for name in available if name in layers]  # network order, no duplicates


def feature_dim(spec: ModelSpec, layers: Sequence[str] | None = None, grid: int = GRID) -> int:
    """Length of the pooled feature vector: grid^2 x (sum of the chosen layers' widths).

    Layer ``down{i}`` has ``spec.widths(d_width)[i-1]`` channels on a (resolution / 2^i)-sized map;
    a map smaller than the grid is pooled to its own size.
    """
    D = Discriminator(spec)
    chosen = _check_layers(D, layers)
    widths = dict(zip(conv_layers(D), spec.widths(spec.d_width), strict=True))
    sizes = {name: spec.resolution >> (i + 1) for i, name in enumerate(conv_layers(D))}
    return sum(widths[name] * min(grid, sizes[name]) ** 2 for name in chosen)


def pool_and_concat(maps: Sequence[torch.Tensor], grid: int = GRID) -> torch.Tensor:
    """(N, C_i, H_i, W_i) maps -> (N, sum C_i * g_i^2): each max-pooled to g_i = min(grid, H_i), flattened."""
    pooled = [F.adaptive_max_pool2d(m, min(grid, m.shape[-1])).flatten(1) for m in maps]
    return torch.cat(pooled, dim=1)


@dataclass
class Extractor:
    """A named map from a uint8 image batch (N, C, H, W) to float features (N, dim)."""

    name: str
    dim: int
    fn: Callable[[torch.Tensor], torch.Tensor]
    resolution: int | None = None  # images must be at this size (None: any)
    channels: int | None = None
    max_batch: int | None = None  # images per call at most (bounds memory where one image is costly)


def discriminator_extractor(
    D: Discriminator, layers: Sequence[str] | None = None, name: str = "dcgan", device: str | torch.device = "cpu"
) -> Extractor:
    """The paper's features from ``D`` (in eval mode: BatchNorm uses its running statistics)."""
    chosen = _check_layers(D, layers)
    D = D.to(device, memory_format=torch.channels_last).eval()  # faster on CPU (docs/features.md)
    last = chosen[-1]

    def fn(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            x = to_unit_range(batch.to(device)).contiguous(memory_format=torch.channels_last)
            maps = D.features(x, upto=last)
            return pool_and_concat([maps[n] for n in chosen]).cpu()

    return Extractor(name, feature_dim(D.spec, chosen), fn, D.spec.resolution, D.spec.channels)


def load_images_for(spec: ModelSpec, path: str | Path, limit: int | None = None) -> ImageData:
    """Images (and their labels) read at the size and channels of the networks of ``spec``."""
    return load_dataset(path, resolution=spec.resolution, channels=spec.channels, limit=limit)


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


def extract(
    extractor: Extractor,
    images: torch.Tensor,
    out: str | Path | None = None,
    batch_size: int = 256,
    progress: bool = True,
) -> np.ndarray:
    """Features of uint8 ``images`` (N, C, H, W), batch by batch; float32 ``.npy`` memmap at ``out`` if given."""
    if batch_size < 1:
        raise DCGANError(f"batch size must be at least 1, not {batch_size}")
    want = (extractor.channels, extractor.resolution)
    if images.dim() != 4 or any(w is not None and w != h for w, h in zip(want, images.shape[1:3], strict=True)):
        raise DCGANError(
            f"{extractor.name} expects images with {want[0]} channels at {want[1]}x{want[1]}, got {tuple(images.shape)}",
            "load the data with the checkpoint's resolution and channels",
        )
    n = images.shape[0]
    batch_size = min(batch_size, extractor.max_batch or batch_size)
    if out is None:
        feats = np.empty((n, extractor.dim), dtype=np.float32)
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        feats = np.lib.format.open_memmap(out, mode="w+", dtype=np.float32, shape=(n, extractor.dim))
    bar = progress_bar(n, f"features: {extractor.name}", progress, leave=False)
    for start in range(0, n, batch_size):
        batch = extractor.fn(images[start : start + batch_size])
        feats[start : start + batch.shape[0]] = batch.numpy()
        bar.update(batch.shape[0])
    bar.close()
    if isinstance(feats, np.memmap):
        feats.flush()
    return feats


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
