"""Whether a run is healthy, said while it trains: the failures a DCGAN shows without crashing.

Two signs, each warned the first time it appears in a run's first ``START_STEPS`` steps and the
first time after them (a ``warning:`` line in the log), and noted in the progress bar whenever it
is present (a sign hovering at its threshold would otherwise repeat the same warning every few
hundred steps). The start has its own warning because D often wins outright there for a while
and G recovers: a warning spent on that must not silence the one that matters later.

- **D wins outright**: D's loss stays near zero (it tells every fake from every real image), or
  G's loss -log D(G(z)) stays very high; G then learns nothing useful. Common on small sets.
- **Collapse**: the fixed-noise samples become alike. Measured as their diversity, the mean
  pairwise distance of small thumbnails, as a share of the same measure on real images; a sharp
  fall from its best so far is collapse under way.

The third failure, divergence (a NaN or Inf loss), is not a warning: the loop itself stops the
run before anything is saved (``divergence.py``), with or without this watch.

Thresholds are fixed rules of thumb, not tuned to a dataset; the figures they were checked
against are in docs/your-own-images.md.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

import torch
import torch.nn.functional as F

from ...core.images import to_unit_range
from ...core.rundir import STEP
from ...errors import warn
from .hooks import Callback, RunView

D_LOSS_NEAR_ZERO = 0.05  # D's loss below this: real and fake told apart with near certainty
G_LOSS_EXPLODED = 10.0  # G's loss above this: D(G(z)) below 5e-5
WINDOW = 25  # steps a sign must last (median) before it is reported: within the first epoch of a small folder
DIVERSITY_EVERY = 50  # steps between diversity measurements
DIVERSITY_FALL = 0.5  # a fall below this share of the best diversity so far is collapse
THUMBNAIL = 8  # side of the thumbnails the diversity compares: shapes and colours, not pixel noise
SMALL_SET = 20_000  # images: below this D winning outright is usually memorisation, the case augmentation fixes
# a run's start, where D winning outright often passes by itself (the faces and CIFAR-10 recipes: steps 30-105)
START_STEPS = 300


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance of ``THUMBNAIL``-side thumbnails of ``images`` (N, C, H, W) in [-1, 1].

    Identical images give 0; the measure is only compared with itself on the same kind of images.
    """
    thumbs = F.adaptive_avg_pool2d(images.float(), THUMBNAIL).flatten(1)
    return float(torch.pdist(thumbs).mean())


def winning_d_remedy(augment: str, images: int, step: int = START_STEPS + 1) -> str:
    """What to try when D wins outright, given the run's ``--augment``, its number of images and the step.

    On a small set the cause is memorisation, and the fix the next step up in augmentation, with its exact flag.
    On a large set D wins late in a long run, when G has stopped improving: the fix is to keep the best model.
    In a run's first ``START_STEPS`` steps it often passes by itself, which the advice says first.
    """
    start = (
        f"in a run's first {START_STEPS} steps this often passes by itself (the faces and CIFAR-10 recipes recovered"
        f" by step 105), and you will be warned again if it is back after step {START_STEPS}"
    )
    if images >= SMALL_SET:
        if step <= START_STEPS:
            return start
        return (
            f"on {images:,} images D is not memorising the set: the run has likely passed its best, so keep the best"
            " model (--eval-every N writes checkpoints/best.safetensors; --checkpoint-every keeps earlier ones)"
            " and compare the latest samples with earlier ones"
        )
    # diffaug before ada: measured better in runs of a few thousand steps (docs/your-own-images.md)
    if augment == "none":
        fix = "train with --augment diffaug (D then sees the same random colour, translation and cutout on real and fake alike)"
    elif augment == "ada":
        fix = "use --augment diffaug (all transforms from the first step; ADA's p rises too slowly in a short run)"
    else:
        fix = "add transforms to --augment-policy (e.g. flip, for photos), halve the widths, or add images"
    small = (
        f"this is usual on a set of a few thousand images: {fix}; see docs/your-own-images.md (a run that does"
        " not recover in a few hundred steps will not)"
    )
    return f"{start}; if it lasts, {small}" if step <= START_STEPS else small


class Health(Callback):
    """Warns when D wins outright or the samples collapse.

    ``window`` and ``every`` default to the module's constants (tests shorten them).
    """

    def __init__(self, window: int = WINDOW, every: int = DIVERSITY_EVERY):
        self.window = window
        self.every = every
        self.recent: deque[dict] = deque(maxlen=window)
        self.real_diversity = math.nan
        self.best = 0.0  # best diversity so far, as a share of the real images'
        self.history: list[tuple[int, float]] = []  # (step, diversity share) of every measurement
        self.active: set[str] = set()  # signs present now (noted in the bar)
        self.warned: set[tuple[str, bool]] = set()  # (sign, in the start) warned about in this run
        self._measured_at = -1

    def on_start(self, trainer: RunView) -> None:
        rng = torch.Generator().manual_seed(trainer.config.seed)
        real = trainer.data.images[torch.randperm(len(trainer.data), generator=rng)[: len(trainer.fixed_noise)]]
        self.real_diversity = diversity(to_unit_range(real))

    def on_metrics(self, trainer: RunView, rows: list[dict]) -> None:
        self.recent.extend(row for row in rows if row.get("kind", STEP) == STEP)  # not quality evaluations
        if len(self.recent) == self.window:
            loss_d = median(r["loss_d"] for r in self.recent)
            loss_g = median(r["loss_g"] for r in self.recent)
            self._sign(
                trainer,
                "D wins",
                loss_d < D_LOSS_NEAR_ZERO or loss_g > G_LOSS_EXPLODED,
                f"D is winning outright: over the last {self.window} steps D's loss was {loss_d:.3f} and G's"
                f" {loss_g:.1f} (median; D(G(z)) about {math.exp(-loss_g):.1g}), so G gets no useful gradient",
                winning_d_remedy(trainer.config.augment, len(trainer.data), trainer.step),
            )
        if trainer.step - self._measured_at >= self.every:
            self.measure(trainer)

    def measure(self, trainer: RunView) -> float:
        """The fixed-noise samples' diversity as a share of the real images', checked for a sharp fall."""
        self._measured_at = trainer.step
        share = diversity(trainer.fixed_samples(trainer.G)) / self.real_diversity  # the raw G: the game
        self.history.append((trainer.step, share))
        self.best = max(self.best, share)
        self._sign(
            trainer,
            "collapse",
            share < DIVERSITY_FALL * self.best,
            f"the samples are collapsing: their diversity fell to {share:.2f} of the real images'"
            f" (best so far {self.best:.2f}), so G draws ever fewer distinct images",
            "look at the latest samples; if they are alike, go back to an earlier checkpoint"
            " (--checkpoint-every keeps them) or start again with more images",
        )
        return share

    def _sign(self, trainer: RunView, name: str, present: bool, problem: str, fix: str) -> None:
        """Warn the first time a sign appears (in the start and after it), note it in the bar while it lasts, clear
        the note when it passes."""
        if present:
            self.active.add(name)
            if (key := (name, trainer.step <= START_STEPS)) not in self.warned:
                self.warned.add(key)
                warn(f"step {trainer.step:,}: {problem}", fix)
        else:
            self.active.discard(name)
        trainer.note("health", ", ".join(sorted(self.active)) or None)
