"""The conditional model's stage (``dcgan nn-protocol``): the appendix's nearest-neighbour table on MNIST."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.tensorfile import atomic_write_json
from ...data import load_dataset
from ...data.loading import default_test_split
from ...experiments.tables import Table, percent
from ...metrics.nn_protocol import nn_protocol
from ..records import Outcome
from ..stage_context import Context


def nn_protocol_stage(ctx: Context, folder: Path) -> Outcome:
    """Table 3: 1-NN test error fitted on N conditional samples beside N real training images, each cell the mean
    and spread over the sampling seeds (one seed's figure sits anywhere in a spread of a few tenths)."""
    s = ctx.settings
    ckpt = ctx.trained("train-conditional")
    spec, (train_path, _) = ckpt.spec, ctx.data["mnist"]
    read = {"resolution": spec.resolution, "channels": spec.channels}
    train = load_dataset(train_path, limit=s.nn_train_limit, **read)
    test = load_dataset(default_test_split(train_path), limit=s.nn_test_limit, **read)
    G = ckpt.generator()
    reports = [nn_protocol(G, ckpt.class_names, train, test, s.nn_sizes, ckpt.noise, seed) for seed in s.nn_seeds]
    atomic_write_json(
        folder / "nn-protocol.json", {str(seed): r.to_dict() for seed, r in zip(s.nn_seeds, reports, strict=True)}
    )
    errors: dict[tuple[str, int], list[float]] = {}
    for report in reports:
        for row in report.rows:
            errors.setdefault((row.source, row.n), []).append(row.test_error)
    sizes = sorted({n for _, n in errors})
    sources = list(dict.fromkeys(source for source, _ in errors))
    rows = [[src, *(_spread(errors[src, n]) for n in sizes)] for src in sources]
    table = Table(["1-NN fitted on", *(f"N = {n:,}" for n in sizes)], rows)
    seeds = f"mean +- standard deviation over sampling seeds {', '.join(map(str, s.nn_seeds))}"
    outcome = Outcome()
    outcome.table(f"1-NN test error on {reports[0].test_size:,} real test digits ({seeds})", "table 3 (appendix)",
                  table)  # fmt: skip
    n = max(sizes)
    generated = float(np.mean(errors[sources[0], n]))
    outcome.result(f"conditional DCGAN samples, 1-NN test error at N = {n:,}", "table 3", "2.98% (N = 50K)",
                   _spread(errors[sources[0], n]), "at most 5%", generated <= 0.05)  # fmt: skip
    outcome.result(f"real training digits, 1-NN test error at N = {n:,}", "table 3", "3.1% (N = 50K)",
                   _spread(errors[sources[1], n]))  # fmt: skip
    outcome.files.append("nn-protocol.json")
    return outcome


def _spread(values: list[float]) -> str:
    """A cell: the mean in percent, with the standard deviation where there are several seeds."""
    mean = percent(float(np.mean(values)))
    return mean if len(values) == 1 else f"{mean} +- {100 * float(np.std(values, ddof=1)):.2f}"
