"""A walk through the latent space (figure 4) end to end: the path through given points of z, and its images.

:func:`walk_experiment` is what ``dcgan interpolate`` and the recipes' walk stages both run: one
figure row per segment between consecutive points, slerp or straight lines (see :func:`.latent.slerp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ..core.images import make_grid, to_pil
from ..core.models import Generator
from ..core.sampling import render
from .latent import save_z, walk


@dataclass
class WalkReport:
    """The points walked through, the z of every step (one row per segment) and G's images of them."""

    points: torch.Tensor  # (K, nz)
    rows: torch.Tensor  # (K - 1, steps, nz)
    spherical: bool
    images: torch.Tensor  # G of the rows, in reading order

    def figure(self) -> Image.Image:
        return to_pil(make_grid(self.images, self.rows.shape[1]))

    def save_z(self, path: str | Path) -> Path:
        return save_z(path, self.rows.flatten(0, 1), {"points": self.points}, spherical=self.spherical)


def walk_experiment(G: Generator, points: torch.Tensor, steps: int = 8, spherical: bool = True) -> WalkReport:
    """Figure 4: ``steps`` images per segment between consecutive ``points`` (K, nz), both ends included."""
    rows = walk(points, steps, spherical)
    return WalkReport(points, rows, spherical, render(G, rows.flatten(0, 1)))
