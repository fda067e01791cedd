"""A direction in z (figure 8) end to end: from its two ends' exemplars to samples moved along it, and measured.

:func:`direction_experiment` is what ``dcgan direction`` and the faces recipe both run: the
direction is the mean z of the positive exemplars minus that of the negative ones (z cells, or
samples the attribute classifier scores so); fresh samples are moved along it at each strength,
and, given a condition to expect, the classifier counts how often it sees it at each strength.
:func:`turn_experiment` is figure 8 itself (``dcgan direction --turn``, the recipe's turn stage):
the ends are the samples the yaw regressor (``experiments/pose.py``) finds looking furthest right
and left, and the regressor measures how far the moved samples turn, beside random directions.
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
from ..errors import DCGANError
from .attributes import AttributeClassifier, Condition, NoExemplarsError, check_expect, exemplar_sets
from .latent import along, direction, save_z
from .pose import YawRegressor
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

    def save_z(self, path: str | Path, extra: dict[str, torch.Tensor] | None = None) -> Path:
        extra = {"vector": self.vector, "moved": self.moved.flatten(0, 1), **(extra or {})}
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
    report = move_along(G, noise, (positive, ends["positive"][0]), (negative, ends["negative"][0]), strengths,
                        num, rows, seed)  # fmt: skip
    report.expect, report.label = expect, label
    if expect is not None:
        report.measured = measure_direction(G, classifier, report.moved, report.strengths, expect)
    return report


def move_along(
    G: Generator,
    noise: str,
    positive: tuple[str, torch.Tensor],
    negative: tuple[str, torch.Tensor],
    strengths: Sequence[float] | torch.Tensor,
    num: int,
    rows: int,
    seed: int,
) -> DirectionReport:
    """The direction from the ``negative`` to the ``positive`` exemplars (each named, z (k, nz)), and ``num``
    samples drawn with ``seed + 1`` moved along it, the first ``rows`` in the figure; nothing measured yet."""
    vector = direction(positive[1], negative[1])
    strengths = torch.as_tensor(strengths, dtype=torch.float32)
    moved = along(fresh_samples(G, noise, num, seed), vector, strengths)
    shown = moved[:rows].flatten(0, 1)
    figure = to_pil(make_grid(render(G, shown), len(strengths)))
    return DirectionReport(positive[0], negative[0], vector, strengths, moved, shown, figure)


def fresh_samples(G: Generator, noise: str, num: int, seed: int) -> torch.Tensor:
    """The z (num, nz) a direction moves: drawn with ``seed + 1``, apart from the exemplars' pool (``seed``)."""
    return sample_noise(num, G.spec.nz, noise, seeded(seed + 1))


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


TURN_STRENGTHS = (-1.0, -0.5, 0.0, 0.5, 1.0)
TURNED = 0.1  # a sample looks left (right) when its yaw is below (above) -TURNED (TURNED): half real faces' spread


@dataclass
class TurnReport:
    """Figure 8's turn: samples moved along the turn vector, their yaw measured at each strength beside the same
    samples moved along random directions of the same length."""

    direction: DirectionReport  # positive: the samples looking right; negative: those looking left
    exemplar_yaw: dict[str, list[float]]  # "left", "right": the regressor's yaw of each exemplar
    turn_yaw: torch.Tensor  # (N, S): each moved sample's measured yaw at each strength
    random_vectors: torch.Tensor  # (D, nz), each as long as the turn vector
    random_yaw: torch.Tensor  # (D, N, S): the same samples moved along each random direction
    real_spread: float  # the standard deviation of real faces' yaw (the regressor's held-out faces)

    @property
    def figure(self) -> Image.Image:
        return self.direction.figure

    def table(self) -> Table:
        """Mean and standard deviation of the measured yaw at each strength, turn vector and random directions."""
        columns = ["strength", "turn: mean yaw", "turn: std", "random: mean yaw", "random: std"]
        rows = [
            [f"{float(s):g}", *(number(float(v)) for v in (t.mean(), t.std(), r.mean(), r.std()))]
            for s, t, r in zip(self.direction.strengths, self.turn_yaw.T, self.random_yaw.flatten(0, 1).T, strict=True)
        ]
        return Table(columns, rows)

    def summary(self) -> dict:
        """How far the turn vector turns: the change of the mean yaw from the smallest to the largest strength (in
        yaw and in real faces' spreads), whether every step turns further, and the same change along the random
        directions (the mean of its size over the draws)."""
        means = self.turn_yaw.mean(0)
        change = float(means[-1] - means[0])
        random_change = float((self.random_yaw.mean(1)[:, -1] - self.random_yaw.mean(1)[:, 0]).abs().mean())
        return {
            "monotone": bool((means.diff() > 0).all()),
            "change": round(change, 4),
            "change_in_real_spreads": round(change / self.real_spread, 3),
            "random_change": round(random_change, 4),
            "random_change_in_real_spreads": round(random_change / self.real_spread, 3),
            "real_spread": self.real_spread,
        }

    def to_dict(self) -> dict:
        table = self.table()
        return {
            "summary": self.summary(),
            "exemplar_yaw": self.exemplar_yaw,
            "random_directions": len(self.random_vectors),
            "table": [dict(zip(table.columns, row, strict=True)) for row in table.rows],
        }

    def save_z(self, path: str | Path) -> Path:
        return self.direction.save_z(path, {"random_vectors": self.random_vectors})


def turn_experiment(
    G: Generator,
    noise: str,
    regressor: YawRegressor,
    *,
    strengths: Sequence[float] | torch.Tensor = TURN_STRENGTHS,
    k: int = 3,
    pool: int = 2000,
    num: int = 8,
    rows: int = 8,
    draws: int = 3,
    seed: int = 0,
) -> TurnReport:
    """Figure 8's turn vector: the mean z of the ``k`` samples of ``pool`` (drawn with ``seed``) the ``regressor``
    finds looking furthest right, minus that of the ``k`` looking furthest left; ``num`` samples (drawn with
    ``seed + 1``) moved along it and their yaw measured at each strength, beside ``draws`` random directions of
    the same length (drawn with ``seed + 2``). Too few samples turned either way raise
    :class:`~.attributes.NoExemplarsError`."""
    if k < 1 or pool < 2 * k or draws < 1:
        raise DCGANError(
            f"--exemplars {k} each way need a --pool of at least {2 * k}, and --random-directions at least 1"
        )
    z_pool = sample_noise(pool, G.spec.nz, noise, seeded(seed))
    pool_yaw = torch.cat([regressor.predict(render(G, chunk)) for chunk in z_pool.split(1024)])
    ends = {side: turned(pool_yaw, k, side) for side in ("left", "right")}
    turn = move_along(G, noise, ("looking right", z_pool[ends["right"]]), ("looking left", z_pool[ends["left"]]),
                       strengths, num, rows, seed)  # fmt: skip
    length = turn.vector.norm()
    random_vectors = torch.randn(draws, G.spec.nz, generator=seeded(seed + 2))
    random_vectors = random_vectors / random_vectors.norm(dim=1, keepdim=True) * length
    start = fresh_samples(G, noise, num, seed)

    def measured(samples: torch.Tensor) -> torch.Tensor:
        return regressor.predict(render(G, samples).flatten(0, 1)).reshape(samples.shape[:2])

    return TurnReport(
        turn,
        {side: [round(float(v), 4) for v in pool_yaw[picked]] for side, picked in ends.items()},
        measured(turn.moved),
        random_vectors,
        torch.stack([measured(along(start, vector, turn.strengths)) for vector in random_vectors]),
        regressor.real_spread,
    )


def turned(yaw: torch.Tensor, k: int, side: str) -> torch.Tensor:
    """The rows of the ``k`` yaws furthest to ``side`` ("left": most negative), each beyond ``TURNED``."""
    sign = -1 if side == "left" else 1
    found = int((sign * yaw > TURNED).sum())
    if found < k:
        raise NoExemplarsError(
            f"only {found} of {len(yaw)} samples look {side} (yaw {'below -' if sign < 0 else 'above '}{TURNED}), "
            f"{k} needed",
            "sample a larger pool (--pool), or ask for fewer exemplars",
        )
    return (sign * yaw).argsort(descending=True, stable=True)[:k]
