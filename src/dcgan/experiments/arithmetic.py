"""Vector arithmetic (figure 7) end to end: exemplars, Y and its figure, and how often the outputs show Y's meaning.

:func:`arithmetic_experiment` is what ``dcgan arithmetic`` and the faces recipe both run: each
concept's exemplars (z cells of a file, or the samples the attribute classifier is surest show
a condition), Y = the expression over their mean z, the figure (G(Y) and Y + noise beside the
same arithmetic in pixels) and, given the condition the outputs should show, how often the
classifier recognises it, against the same arithmetic in pixels and random samples of G.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core.models import Generator
from ..core.sampling import at_class, render, sample_noise, seeded
from .attributes import AttributeClassifier, Condition, check_expect, exemplar_sets
from .latent import Arithmetic, arithmetic_figure, pixel_arithmetic, save_z, vector_arithmetic
from .tables import Table, number

EXEMPLAR_SET = "exemplar set"  # the measured table's row of one set's outputs: "exemplar set 1", ...


@dataclass
class ArithmeticReport:
    """One expression's figure and, when an outcome was expected, its measurement."""

    expression: str
    concepts: dict[str, str]  # concept -> its exemplars as given: z cells or an attribute condition
    first: Arithmetic  # the figure's run: every concept's first exemplar set
    figure: Image.Image
    expect: str | None = None  # the condition the outputs should show
    runs: list[Arithmetic] = field(default_factory=list)  # with ``expect``: one run per exemplar set
    random_z: torch.Tensor | None = None  # with ``expect``: the control's samples of G
    measured: dict[str, dict] = field(default_factory=dict)  # latent / pixel / random -> images, shares recognised
    label: int | None = None  # the class of a conditional G, the same for every image

    def success(self) -> float:
        """The share of latent outputs (Y and Y + noise of every run) recognised as ``expect``."""
        return self.measured["latent"][self.expect]

    def spread(self) -> float | None:
        """The standard deviation of :meth:`success` over the exemplar sets (None with fewer than two)."""
        per_set = [row[self.expect] for name, row in self.measured.items() if name.startswith(EXEMPLAR_SET)]
        return float(np.std(per_set, ddof=1)) if len(per_set) > 1 else None

    def table(self) -> Table:
        columns = list(next(iter(self.measured.values())))
        return Table(["outputs", *columns], [[row, *map(number, v.values())] for row, v in self.measured.items()])

    def to_dict(self) -> dict:
        return {
            "expression": self.expression,
            "concepts": self.concepts,
            "expect": self.expect,
            "trials": len(self.runs),
            "table": self.measured,
        } | ({} if self.label is None else {"label": self.label})

    def save_z(self, path: str | Path) -> Path:
        """The figure's z in reading order (one row per concept, then the outputs), and the measured ones."""
        rows = self.first.figure_rows()
        extra = {}
        if self.expect is not None:
            extra = {"trial_outputs": torch.cat([run.outputs for run in self.runs]), "random": self.random_z}
        return save_z(
            path,
            torch.cat([z for _, z in rows]),
            extra,
            rows=[[label, len(z)] for label, z in rows],
            expression=self.expression,
            concepts=self.concepts,
            label=self.label,
        )


def arithmetic_experiment(
    G: Generator,
    noise: str,
    expression: str,
    concepts: dict[str, str],
    *,
    classifier: AttributeClassifier | None = None,
    expect: str | None = None,
    k: int = 3,
    pool: int = 2000,
    trials: int = 1,
    n: int = 8,
    scale: float = 0.25,
    seed: int = 0,
    label: int | None = None,
) -> ArithmeticReport:
    """Figure 7 for ``expression`` over ``concepts`` (name -> z cells, or a condition the ``classifier`` picks
    the ``k`` surest of ``pool`` samples for), with ``n`` samples of Y + U[-scale, scale] noise.

    With ``expect`` (a condition of the classifier), the arithmetic is repeated on ``trials`` disjoint exemplar
    sets and its outputs scored (:func:`measure_arithmetic`); the control is as many samples of G, the first
    ones of the exemplar pool. Too few samples scored as a condition raise :class:`~.attributes.NoExemplarsError`.
    A class-conditional G draws every image (exemplars, outputs, controls) at one class, ``label``: the arithmetic
    is on z alone, within that class.
    """
    check_expect(classifier, expect)
    G = at_class(G, label)
    groups = exemplar_sets(G, noise, concepts, classifier=classifier, k=k, pool=pool, seed=seed, groups=trials)
    first = vector_arithmetic(expression, {name: z[0] for name, z in groups.items()}, n, scale, seed)
    report = ArithmeticReport(expression, dict(concepts), first, arithmetic_figure(G, first), expect, label=label)
    if expect is not None:
        report.random_z = sample_noise(pool, G.spec.nz, noise, seeded(seed))[: trials * len(first.outputs)]
        report.runs, report.measured = measure_arithmetic(
            G, classifier, expression, groups, expect, report.random_z, n, scale, seed
        )
    return report


def measure_arithmetic(
    G: Generator,
    clf: AttributeClassifier,
    expression: str,
    trial_exemplars: dict[str, torch.Tensor],
    expect: str,
    random_z: torch.Tensor,
    n: int = 8,
    scale: float = 0.25,
    seed: int = 0,
) -> tuple[list[Arithmetic], dict[str, dict]]:
    """Run the arithmetic once per exemplar group (T, k, nz) and count outputs recognised as ``expect``.

    Rows of the returned table: ``latent`` (Y and its n noisy neighbours of every trial),
    ``pixel`` (pixel-space arithmetic on the same exemplar images, one per trial) and
    ``random`` (G of ``random_z``: how often the condition holds by chance). With more than one
    group, ``latent`` is followed by a row per exemplar set (its Y and Y + noise): one set's result
    rests on its own few exemplars, so the rows' spread is the measurement's own noise. Each row gives
    the number of images and the recognised fraction of the whole condition and of each literal.
    """
    condition = Condition.parse(expect, clf.names)
    trials = len(next(iter(trial_exemplars.values())))
    runs = [
        vector_arithmetic(expression, {name: z[t] for name, z in trial_exemplars.items()}, n, scale, seed + t)
        for t in range(trials)
    ]
    latent_images = render(G, torch.cat([run.outputs for run in runs]))
    pixel_images = torch.stack(
        [pixel_arithmetic(expression, {name: render(G, z) for name, z in run.exemplars.items()}) for run in runs]
    )
    probs = {"latent": clf.predict(latent_images)}
    if trials > 1:  # each set's outputs, scored with the rest
        probs |= {f"{EXEMPLAR_SET} {t + 1}": p for t, p in enumerate(probs["latent"].chunk(trials))}
    probs |= {"pixel": clf.predict(pixel_images), "random": clf.predict(render(G, random_z))}
    table = {row: {"images": len(p), **condition.recognition(p, clf.names)} for row, p in probs.items()}
    return runs, table
