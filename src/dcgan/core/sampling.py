"""Drawing z and running G on it."""

from __future__ import annotations

import torch

from ..errors import DCGANError
from .models import Generator
from .progress import progress_bar

NOISE_KINDS = ("normal", "uniform")


def sample_noise(
    n: int, nz: int, kind: str = "normal", generator: torch.Generator | None = None, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """z ~ N(0, 1) (default) or U[-1, 1] (the original Theano code's), shape (n, nz)."""
    if kind == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    if kind == "uniform":
        return torch.rand(n, nz, generator=generator, device=device) * 2 - 1
    raise DCGANError(f"unknown noise kind {kind!r}", "use 'normal' or 'uniform'")


def seeded(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``: every command's "--seed" draws its z from one of these."""
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def generate(G: Generator, z: torch.Tensor, batch_size: int = 256, progress: bool = False) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm running statistics, so each image depends only on its z)."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    chunks = []
    with progress_bar(len(z), "sampling", progress) as bar:
        for chunk in z.split(batch_size):
            chunks.append(G(chunk.to(device)).float().cpu().contiguous())
            bar.update(len(chunk))
    out = torch.cat(chunks)
    G.train(was_training)
    return out


def render(G: Generator, z: torch.Tensor) -> torch.Tensor:
    """G(z) for z of any leading shape (..., nz): images (..., C, H, W) in [-1, 1]."""
    images = generate(G, z.reshape(-1, z.shape[-1]))
    return images.reshape(*z.shape[:-1], *images.shape[1:])
