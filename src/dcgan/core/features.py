"""D's section-5 features and the one batching path every feature extractor goes through.

Every chosen convolutional layer of a discriminator is max-pooled to a 4x4 grid (adaptive max
pooling, so any map size works), flattened and concatenated (the paper's section 5.1). An
:class:`Extractor` is any named map from uint8 images to feature vectors; :func:`extract` runs one
over a set in batches. The linear probe (``experiments/``) and the quality metrics (``metrics/``)
both build on these, which is why they live here, below both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DCGANError
from .images import to_unit_range
from .models import Discriminator, ModelSpec
from .pages import release
from .progress import progress_bar

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
        release(images[start : start + batch_size])  # memory-mapped rows leave the resident set once used
        release(feats[start : start + batch.shape[0]])
        bar.update(batch.shape[0])
    bar.close()
    if isinstance(feats, np.memmap):
        feats.flush()
    return feats
