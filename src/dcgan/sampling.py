"""Drawing z, running G, and writing images (grids or one PNG each)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import DCGANError
from .models import Generator


def sample_noise(
    n: int, nz: int, kind: str = "normal", generator: torch.Generator | None = None, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """z ~ N(0, 1) (default) or U[-1, 1] (the original Theano code's), shape (n, nz)."""
    if kind == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    if kind == "uniform":
        return torch.rand(n, nz, generator=generator, device=device) * 2 - 1
    raise DCGANError(f"unknown noise kind {kind!r}", "use 'normal' or 'uniform'")


@torch.no_grad()
def generate(G: Generator, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm running statistics, so each image depends only on its z)."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    out = torch.cat([G(chunk.to(device)).float().cpu().contiguous() for chunk in z.split(batch_size)])
    G.train(was_training)
    return out


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] (N, C, H, W) floats -> (N, H, W, C) uint8."""
    return (
        ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    )


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images (N, C, H, W) in [-1, 1] into one (H', W', C) uint8 array."""
    pixels = to_uint8(images)
    n, h, w, c = pixels.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = np.zeros((padding + ncol * (h + padding), padding + nrow * (w + padding), c), dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + q * (w + padding)
        grid[y : y + h, x : x + w] = pixels[i]
    return grid


def _to_pil(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _to_pil(make_grid(images, nrow)).save(path)
    return path


def save_separate(images: torch.Tensor, folder: str | Path, stem: str = "sample") -> list[Path]:
    """One PNG per image: ``folder/stem_0000.png`` ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, arr in enumerate(to_uint8(images)):
        paths.append(folder / f"{stem}_{i:04d}.png")
        _to_pil(arr).save(paths[-1])
    return paths
