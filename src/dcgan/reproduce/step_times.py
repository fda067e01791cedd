"""Seconds of one training step per CPU kind: the table behind the hours a recipe states (``step_times.json``).

``python -m benchmarks.recipe_hours`` writes the table: the real training step at batch 128 for every model
the recipes' config files train, per CPU kind, precision and thread count. One kind, at one thread count
and precision, is the reference the stated hours are for (``dcgan reproduce --plan``, the help, the page).
A kind whose ``measured_by`` is null holds figures that no run of the benchmark produced yet. This module
owns the file's format: the benchmark writes it through :func:`merge_kinds` and :func:`write_table`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..core.models import Discriminator, Generator, ModelSpec
from ..core.tensorfile import atomic_write_json
from ..errors import DCGANError
from ..training.config import PRESETS

TABLE = Path(__file__).with_name("step_times.json")
BATCH = 128  # the batch every figure of the table is measured at; other batches scale linearly
MEASURE = "python -m benchmarks.recipe_hours"


@dataclass(frozen=True)
class Model:
    """What a training step's time depends on, resolved from a config file's options (a preset to its widths)."""

    resolution: int
    channels: int
    g_width: int
    d_width: int
    nz: int
    conditional: bool
    augment: str

    @classmethod
    def of(cls, options: dict) -> Model:
        preset = PRESETS[options.get("preset", "small")]
        return cls(
            resolution=options.get("resolution") or 64,
            channels=options.get("channels") or 3,
            g_width=options.get("g_width") or preset["g_width"],
            d_width=options.get("d_width") or preset["d_width"],
            nz=options.get("nz") or preset["nz"],
            conditional=bool(options.get("conditional")),
            augment=options.get("augment", "none"),
        )

    @classmethod
    def from_row(cls, row: dict) -> Model:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    def to_dict(self) -> dict:
        return asdict(self)

    def spec(self) -> ModelSpec:
        """The networks' shapes (a conditional model counted with 10 classes, as the recipes' are)."""
        return ModelSpec(
            self.resolution, self.channels, self.nz, self.g_width, self.d_width, 10 if self.conditional else 0
        )

    def label(self) -> str:
        extras = [" conditional" * self.conditional, f" --augment {self.augment}" * (self.augment != "none")]
        return f"{self.resolution}px {self.channels}ch G{self.g_width}/D{self.d_width} z{self.nz}" + "".join(extras)


@cache
def read_table(path: Path = TABLE) -> dict:
    return json.loads(path.read_text())


def reference_machine(table: dict | None = None) -> str:
    """What the stated hours are for, in words: the reference CPU kind, its threads and precision."""
    reference = (table or read_table())["reference"]
    return f"{reference['kind']}, {reference['threads']} threads, {reference['precision']}"


def step_seconds(options: dict, table: dict | None = None, widths: dict[str, int] | None = None) -> float:
    """Seconds of one step of a config file's training on the reference CPU kind, at the config's batch size.

    A resolution the table lacks for this model is scaled by pixels from the nearest one it has: every recipe's
    own configs are measured at their resolution (a test checks), so this only serves a config written by hand,
    where an estimate beats a refusal (``dcgan --help`` states every recipe's hours). A step's work grows 4.6-6x
    per doubling of the side (docs/benchmarks.md, "scaling"), so such a figure may be up to 1.5x low.

    With ``widths`` (``--g-width``, ``--d-width``) in place of the config's: the wider model's own step where the
    table has it at this resolution (each recipe's ``lever_widths`` are measured), else the config's step scaled
    by the counted work of the wider nets (:func:`step_work`). That scaling undershoots where wide layers run
    less efficiently per operation: on the AVX2 reference, D 256 at 32x32 takes 4.2x D 128's time for 3.21x its
    work (docs/reproduce.md).
    """
    table = table or read_table()
    if widths:
        chosen = options | widths
        if Model.of(chosen) in {Model.from_row(row) for row in _reference_rows(table)}:
            return step_seconds(chosen, table)
        return step_seconds(options, table) * step_work(Model.of(chosen)) / step_work(Model.of(options))
    model, reference = Model.of(options), table["reference"]
    same = [row for row in _reference_rows(table) if Model.from_row(row) == _at(model, row["resolution"])]
    if not same:
        raise DCGANError(
            f"no step time measured for a {model.label()} model on {reference['kind']}",
            f"measure it: {MEASURE} (it reads every recipe's config files)",
        )
    nearest = min(same, key=lambda row: (abs(row["resolution"].bit_length() - model.resolution.bit_length()),
                                         -row["resolution"]))  # fmt: skip
    pixels = (model.resolution / nearest["resolution"]) ** 2
    return nearest["seconds"] * pixels * options.get("batch_size", BATCH) / BATCH


def _reference_rows(table: dict) -> list[dict]:
    """The rows of the reference kind at its threads and precision: the ones the stated hours come from."""
    reference = table["reference"]
    return [
        row
        for row in table["kinds"][reference["kind"]]["rows"]
        if (row["threads"], row["precision"]) == (reference["threads"], reference["precision"])
    ]


@cache
def step_work(model: Model) -> float:
    """Operations of one image's pass through G and three through D, counted on the meta device (nothing is
    computed): a step runs G once and D three times (real, fake for D's loss, fake for G's), each pass with its
    backward, so this scales as the step's work does when only the widths change (within 4% of the step's own
    count for every width pair of docs/benchmarks.md, "What a wider G or D costs")."""
    spec = model.spec()
    with torch.device("meta"):
        G, D = Generator(spec), Discriminator(spec)
        labels = torch.zeros(1, dtype=torch.long) if model.conditional else None
        with FlopCounterMode(display=False) as g_count:
            fake = G(torch.zeros(1, model.nz), labels)
        with FlopCounterMode(display=False) as d_count:
            D(fake, labels)
    return float(g_count.get_total_flops() + 3 * d_count.get_total_flops())


def _at(model: Model, resolution: int) -> Model:
    return Model(**{**model.to_dict(), "resolution": resolution})


def merge_kinds(table: dict, measured: dict[str, dict], reference: dict) -> dict:
    """``table`` with the kinds just ``measured`` (kind -> its entry) in place of theirs and of every kind no
    run measured; kinds measured earlier elsewhere stay. ``reference``: kind, threads and precision."""
    kept = {kind: entry for kind, entry in table["kinds"].items() if entry["measured_by"] and kind not in measured}
    return {"about": table["about"], "reference": reference, "kinds": {**kept, **measured}}


def write_table(table: dict, path: Path = TABLE) -> None:
    atomic_write_json(path, table)
    read_table.cache_clear()
