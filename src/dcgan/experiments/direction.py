"""A direction in z (figure 8) end to end: from its two ends' exemplars to samples moved along it, and measured.

:func:`direction_experiment` is what ``dcgan direction`` and the faces recipe both run: the
direction is the mean z of the positive exemplars minus that of the negative ones (z cells, or
samples the attribute classifier scores so); fresh samples are moved along it at each strength,
and, given a condition to expect, the classifier counts how often it sees it at each strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from ..core.images import make_grid, to_pil
from ..core.models import Generator
from ..core.sampling import at_class, render, sample_noise, seeded
from .attributes import AttributeClassifier, Condition, check_expect, exemplar_sets
from .latent import along, direction, save_z
from .tables import Table, number

STRENGTHS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)  # multiples of the direction, one figure column each


@dataclass
class DirectionReport:
    """The direction, the samples moved along it (the figure shows the first rows) and, with ``expect``, the
    share recognised at each strength."""

    positive: str  # the exemplars as given: z cells or an attribute condition
    negative: str
    vector: torch.Tensor  # (nz,)
    strengths: torch.Tensor  # (S,)
    moved: torch.Tensor  # (N, S, nz): one row per sample
    shown: torch.Tensor  # the figure's z in reading order: its rows, S per row
    figure: Image.Image
    expect: str | None = None
    measured: dict[str, dict] = field(default_factory=dict)  # strength -> images, shares recognised
    label: int | None = None  # the class of a conditional G, the same for every image

    def table(self) -> Table:
        columns = list(next(iter(self.measured.values())))
        return Table(["strength", *columns], [[s, *map(number, v.values())] for s, v in self.measured.items()])

    def to_dict(self) -> dict:
        report = {"positive": self.positive, "negative": self.negative, "expect": self.expect, "table": self.measured}
        return report | ({} if self.label is None else {"label": self.label})

    def save_z(self, path: str | Path) -> Path:
        extra = {"vector": self.vector, "moved": self.moved.flatten(0, 1)}
        return save_z(path, self.shown, extra, strengths=self.strengths.tolist(), label=self.label)


def direction_experiment(
    G: Generator,
    noise: str,
    positive: str,
    negative: str,
    *,
    classifier: AttributeClassifier | None = None,
    expect: str | None = None,
    strengths: Sequence[float] | torch.Tensor = STRENGTHS,
    k: int = 3,
    pool: int = 2000,
    num: int = 8,
    rows: int = 8,
    seed: int = 0,
    label: int | None = None,
) -> DirectionReport:
    """Figure 8: ``num`` samples (drawn with ``seed + 1``) moved along the direction from the ``negative`` to the
    ``positive`` exemplars (z cells, or conditions the ``classifier`` picks the ``k`` surest of ``pool`` samples
    drawn with ``seed`` for); the figure shows the first ``rows``. With ``expect``, the share of samples the
    classifier recognises so at each strength (:func:`measure_direction`). A class-conditional G draws every
    image at one class, ``label``."""
    check_expect(classifier, expect)
    G = at_class(G, label)
    ends = exemplar_sets(
        G, noise, {"positive": positive, "negative": negative}, classifier=classifier, k=k, pool=pool, seed=seed
    )
    vector = direction(ends["positive"][0], ends["negative"][0])
    strengths = torch.as_tensor(strengths, dtype=torch.float32)
    moved = along(sample_noise(num, G.spec.nz, noise, seeded(seed + 1)), vector, strengths)
    shown = moved[:rows].flatten(0, 1)
    figure = to_pil(make_grid(render(G, shown), len(strengths)))
    report = DirectionReport(positive, negative, vector, strengths, moved, shown, figure, expect, label=label)
    if expect is not None:
        report.measured = measure_direction(G, classifier, moved, strengths, expect)
    return report


def measure_direction(
    G: Generator, clf: AttributeClassifier, moved: torch.Tensor, strengths: torch.Tensor, expect: str
) -> dict[str, dict]:
    """For samples moved along a direction (N, S, nz), how often ``expect`` is recognised at each strength."""
    condition = Condition.parse(expect, clf.names)
    images = render(G, moved)
    return {
        f"{float(s):g}": {"images": len(moved), **condition.recognition(clf.predict(images[:, i]), clf.names)}
        for i, s in enumerate(strengths)
    }
