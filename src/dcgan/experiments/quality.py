"""Quality against training time, after the fact: each checkpoint a run kept, scored against real images.

:func:`quality_over_training` scores every ``epoch_NNNN`` checkpoint of a run folder and its last one,
each generator it holds (the raw G and, with ``--ema``, the averaged one), in one feature space and
against one set of real images, so the rows differ only in how long the run had trained. It needs
no evaluation during training (``--eval-every``), so the feature network and the real images (for
example images held out of training) can be chosen once the run is over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from ..core.checkpoints import checkpoint_meta
from ..core.plotting import pyplot
from ..core.rundir import RunDir
from ..data import SourceOptions
from ..errors import DCGANError
from ..metrics import evaluate
from ..training import Position
from .tables import Table

SHOWN = ("fid", "kid", "precision", "recall")


@dataclass
class QualityRow:
    """One checkpoint, one of its generators: where the run stood, and the scores."""

    step: int
    epoch: int
    images_seen: int
    generator: str  # "ema" (the averaged G) or "raw"
    values: dict[str, float]


@dataclass
class QualityReport:
    """The scores of a run's checkpoints in order of training, with what they were measured against."""

    features: str
    real: str
    n: int
    rows: list[QualityRow] = field(default_factory=list)

    def generators(self) -> list[str]:
        return list(dict.fromkeys(row.generator for row in self.rows))

    def by_generator(self, generator: str) -> list[QualityRow]:
        return [row for row in self.rows if row.generator == generator]

    def table(self, hours_per_step: float | None = None, paper_epoch: int | None = None) -> Table:
        """One line per checkpoint, every generator's FID beside the first's other scores; with
        ``hours_per_step``, training hours at that rate; with ``paper_epoch``, images seen as a share of it."""
        first, *others = self.generators()
        columns = ["step", "images seen"]
        columns += ["training hours"] if hours_per_step else []
        columns += [f"share of the paper's epoch ({paper_epoch:,} images)"] if paper_epoch else []
        columns += [f"{first}: {name}" for name in SHOWN] + [f"{other}: fid" for other in others]
        fid_of = {(row.step, row.generator): row.values["fid"] for row in self.rows}
        lines = []
        for row in self.by_generator(first):
            line = [f"{row.step:,}", f"{row.images_seen:,}"]
            line += [f"{row.step * hours_per_step:.2f}"] if hours_per_step else []
            line += [f"{row.images_seen / paper_epoch:.3f}"] if paper_epoch else []
            line += [f"{row.values[name]:.3f}" if name != "fid" else f"{row.values[name]:.2f}" for name in SHOWN]
            line += [f"{fid_of[row.step, other]:.2f}" for other in others]
            lines.append(line)
        return Table(columns, lines)

    def figure(self) -> Image.Image:
        """FID, precision and recall against images seen, one line per generator."""
        plt = pyplot()
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
        for generator in self.generators():
            rows = self.by_generator(generator)
            seen = [row.images_seen for row in rows]
            left.plot(seen, [row.values["fid"] for row in rows], marker="o", label=f"{generator} G")
            for name, style in (("precision", "-"), ("recall", "--")):
                right.plot(seen, [row.values[name] for row in rows], style, marker=".", label=f"{generator} {name}")
        left.set(xlabel="images seen", ylabel="FID", title=f"FID against {self.n:,} real images")
        right.set(xlabel="images seen", ylim=(0, 1), title="precision (solid) and recall (dashed)")
        for ax in (left, right):
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.canvas.draw()
        image = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba()).convert("RGB")
        plt.close(fig)
        return image

    def to_dict(self) -> dict:
        return asdict(self)


def saved_checkpoints(run: RunDir) -> list[Path]:
    """The checkpoints a run kept, in order of training: every ``epoch_NNNN``, then the last unless it is one."""
    kept = sorted(run.checkpoints.glob("epoch_[0-9]*.safetensors"))
    steps = {checkpoint_meta(path)["step"] for path in kept}
    if run.last_checkpoint.exists() and checkpoint_meta(run.last_checkpoint)["step"] not in steps:
        kept.append(run.last_checkpoint)
    return kept


def quality_over_training(
    run: str | Path,
    real: str | Path,
    features: str,
    options: SourceOptions | None = None,
    n: int = 2000,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
) -> QualityReport:
    """Score every checkpoint :func:`saved_checkpoints` finds in the run folder ``run``, each of its generators,
    with ``n`` samples from seeded z against ``n`` images of ``real`` (read with ``options``) in ``features``."""
    checkpoints = saved_checkpoints(RunDir(Path(run)))
    if not checkpoints:
        raise DCGANError(f"{run} holds no checkpoint to score", "train first, or pass the run folder itself")
    report = None
    for path in checkpoints:
        meta = checkpoint_meta(path)
        at = Position.of_checkpoint(meta)
        for generator in ("ema", "raw") if meta["config"].get("ema") else ("raw",):
            scored = evaluate(path, real, features, n=n, seed=seed, options=options, device=device,
                              progress=progress, generator=generator)  # fmt: skip
            report = report or QualityReport(scored.features, scored.real, min(scored.n_real, scored.n_fake))
            values = {name: float(scored.values[name]) for name in SHOWN}
            report.rows.append(QualityRow(at.step, at.epoch, at.images_seen, generator, values))
    return report
