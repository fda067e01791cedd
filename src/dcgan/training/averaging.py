"""``--ema``: an exponential moving average of G's weights, a shadow of the run that plays no part in it.

GAN training circles around an equilibrium more than it settles into one; the average of G's
recent weights sits nearer the centre of the circle, and scores better than the last iterate
(Yazici et al., ICLR 2019; StyleGAN's ``G_ema``). D and G never see the average, so the game the
paper plays is unchanged: a run with ``--ema`` trains exactly the same raw G as one without.

The weight of the past follows StyleGAN: a half-life in images, ``ema`` thousand of them, so the
average means the same span of training at any batch size; with ``ema_rampup`` the half-life is
at most that share of the images seen so far, so the first steps' random weights are forgotten
quickly instead of dragging the average for the first half-life.

BatchNorm: averaged weights make activations whose statistics no single raw G had, so neither
the raw G's running statistics nor an average of them fit the average's layers. The averaged G's
running statistics are therefore *recomputed* whenever it is used (sampled, evaluated or saved):
``RECALIBRATION_BATCHES`` batches of a fixed seeded z (of the run's global batch size) through the
averaged G in training mode, with a cumulative mean (as SWA's ``update_bn`` does). They follow from the
weights alone, so a resumed run needs only the averaged weights to continue exactly, and N ranks keep the
average one process with the global batch would.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..core.models import Generator
from ..core.sampling import sample_noise

RECALIBRATION_BATCHES = 8  # x the batch size of z that set the averaged G's BatchNorm statistics
RECALIBRATION_SEED = 20_160_119  # the z of the recalibration: fixed, so the statistics follow from the weights


def decay(half_life_kimg: float, rampup: float, images_seen: int, batch_images: int) -> float:
    """The share of the old average kept after one step of ``batch_images`` images."""
    half_life = half_life_kimg * 1000
    if rampup:
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch_images / max(half_life, 1e-8))


class GeneratorAverage:
    """The averaged copy of ``G`` (``.G``): updated after every step, recalibrated before every use."""

    def __init__(self, G: Generator, half_life_kimg: float, rampup: float, noise: str = "normal"):
        self.G = copy.deepcopy(G).requires_grad_(False).eval()
        for module in self.G.modules():  # plain BatchNorm: under --sync-bn the raw G's all-reduce its statistics,
            if isinstance(module, nn.BatchNorm2d):  # and each rank recalibrates its own copy, alone
                module.__class__ = nn.BatchNorm2d
        self.half_life_kimg, self.rampup, self.noise = half_life_kimg, rampup, noise
        self._params = [(avg, raw) for avg, raw in zip(self.G.parameters(), G.parameters(), strict=True)]
        self._calibrated = False

    @torch.no_grad()
    def update(self, images_seen: int, batch_images: int) -> None:
        """Move the average towards G after a step that brought the images seen to ``images_seen``."""
        keep = decay(self.half_life_kimg, self.rampup, images_seen, batch_images)
        averaged, current = zip(*self._params, strict=True)
        torch._foreach_lerp_(list(averaged), list(current), 1 - keep)
        self._calibrated = False

    @torch.no_grad()
    def calibrated(self, batch_size: int) -> Generator:
        """The averaged G, in eval mode, with BatchNorm statistics of its own weights."""
        if not self._calibrated:
            recalibrate_batchnorm(self.G, self.noise, batch_size)
            self._calibrated = True
        return self.G


@torch.no_grad()
def recalibrate_batchnorm(G: Generator, noise: str, batch_size: int, batches: int = RECALIBRATION_BATCHES) -> None:
    """Replace G's BatchNorm running statistics by their mean over ``batches`` batches of a fixed z."""
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative mean over the batches below
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(RECALIBRATION_SEED)
    k = G.spec.num_classes
    G.train()
    for _ in range(batches):
        z = sample_noise(batch_size, G.spec.nz, noise, rng).to(device)
        labels = torch.randint(k, (batch_size,), generator=rng).to(device) if k else None
        G(z, labels)
    G.eval()
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
