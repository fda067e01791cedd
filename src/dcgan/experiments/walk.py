"""A walk through the latent space (figure 4) end to end: the path through given points of z, and its images.

:func:`walk_experiment` is what ``dcgan interpolate`` and the recipes' walk stages both run: one
figure row per segment between consecutive points, slerp or straight lines (see :func:`.latent.slerp`).
:func:`walk_smoothness` measures what the paper shows by eye ("smooth transitions"): how far apart
neighbouring frames of many walks are, beside real images shown in a random order. A G that jumped
between memorised images would make steps as large as those between unrelated real images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ..core.images import make_grid, to_pil
from ..core.models import Generator
from ..core.sampling import at_class, render, sample_noise, seeded
from ..errors import DCGANError
from .latent import path_through, save_z, walk
from .tables import Table


@dataclass
class WalkReport:
    """The points walked through, the z of every step (one row per segment) and G's images of them."""

    points: torch.Tensor  # (K, nz)
    rows: torch.Tensor  # (K - 1, steps, nz)
    spherical: bool
    images: torch.Tensor  # G of the rows, in reading order
    label: int | None = None  # the class of a conditional G, the same for every image

    def figure(self) -> Image.Image:
        return to_pil(make_grid(self.images, self.rows.shape[1]))

    def frames(self) -> torch.Tensor:
        """The images along the whole path, each shared point once (:func:`.latent.path_through`): a GIF's."""
        return path_through(self.images.unflatten(0, self.rows.shape[:2]))

    def save_z(self, path: str | Path) -> Path:
        return save_z(
            path, self.rows.flatten(0, 1), {"points": self.points}, spherical=self.spherical, label=self.label
        )


def walk_experiment(
    G: Generator, points: torch.Tensor, steps: int = 8, spherical: bool = True, label: int | None = None
) -> WalkReport:
    """Figure 4: ``steps`` images per segment between consecutive ``points`` (K, nz), both ends included.

    A class-conditional G walks at one class, ``label``, for the whole walk: z alone changes along it, so the
    frames show what z holds within a class (a digit's slant and weight), as figure 4 shows it for a whole set.
    """
    rows = walk(points, steps, spherical)
    return WalkReport(points, rows, spherical, render(at_class(G, label), rows.flatten(0, 1)), label)


@dataclass
class Smoothness:
    """Steps between neighbouring frames (RMS pixel difference, pixels in [0, 1]), one row per sequence: of walks
    through z, and of as many real images in a random order."""

    walk_steps: torch.Tensor  # (walks, frames - 1)
    real_steps: torch.Tensor  # (walks, frames - 1)
    points: int
    steps: int

    def summary(self) -> dict[str, dict[str, float]]:
        """Per kind of sequence: the mean step, the largest step of a sequence and its ratio to that sequence's
        mean step (both averaged over sequences), and the largest step against the mean real step."""
        real_mean = float(self.real_steps.mean())
        out = {}
        for name, steps in (("walks through z", self.walk_steps), ("real images, random order", self.real_steps)):
            largest = steps.max(dim=1).values
            out[name] = {
                "mean_step": float(steps.mean()),
                "largest_step": float(largest.mean()),
                "largest_over_own_mean": float((largest / steps.mean(dim=1)).mean()),
                "largest_over_real_mean": float(largest.mean()) / real_mean,
            }
        return out

    def table(self) -> Table:
        columns = ["sequence", "mean step", "largest step", "largest / its mean", "largest / mean real step"]
        rows = [[name, *(f"{v:.3f}" for v in values.values())] for name, values in self.summary().items()]
        return Table(columns, rows)

    def to_dict(self) -> dict:
        return {"walks": len(self.walk_steps), "points": self.points, "steps": self.steps, **self.summary()}


def _neighbour_steps(frames: torch.Tensor) -> torch.Tensor:
    """(S, T, C, H, W) in [0, 1] -> (S, T - 1): the RMS difference of each frame and the next."""
    return (frames[:, 1:] - frames[:, :-1]).pow(2).mean(dim=(2, 3, 4)).sqrt()


def walk_smoothness(
    G: Generator,
    real: torch.Tensor,
    walks: int = 32,
    points: int = 9,
    steps: int = 8,
    noise: str = "normal",
    seed: int = 0,
) -> Smoothness:
    """``walks`` walks through ``points`` seeded random z, ``steps`` frames per segment (slerp for normal z, as
    figure 4), against ``walks`` sequences of as many frames of uint8 ``real`` images drawn at random."""
    rng = seeded(seed)
    z = sample_noise(walks * points, G.spec.nz, noise, rng).view(walks, points, -1)
    paths = torch.stack([path_through(walk(w, steps, noise == "normal")) for w in z])  # (walks, frames, nz)
    frames = paths.shape[1]
    if len(real) < frames:
        raise DCGANError(
            f"{len(real)} real images are too few for sequences of {frames} frames",
            f"give at least {frames} real images, or walk through fewer points or steps",
        )
    generated = (render(G, paths) + 1) / 2  # (walks, frames, C, H, W) in [0, 1]
    order = torch.stack([torch.randperm(len(real), generator=rng)[:frames] for _ in range(walks)])
    shown = real[order.flatten()].float().div(255).view(walks, frames, *real.shape[1:])
    return Smoothness(_neighbour_steps(generated), _neighbour_steps(shown), points, steps)
