"""The conditional model's stage (``dcgan nn-protocol``): the appendix's nearest-neighbour table on MNIST."""

from __future__ import annotations

from pathlib import Path

from ...core.tensorfile import atomic_write_json
from ...data import load_dataset
from ...data.loading import default_test_split
from ...experiments.tables import Table, percent
from ...metrics.nn_protocol import nn_protocol
from ..records import Outcome
from ..stage_context import Context


def nn_protocol_stage(ctx: Context, folder: Path) -> Outcome:
    """Table 3: 1-NN test error fitted on N conditional samples beside N real training images."""
    s = ctx.settings
    ckpt = ctx.trained("train-conditional")
    spec, (train_path, _) = ckpt.spec, ctx.data["mnist"]
    read = {"resolution": spec.resolution, "channels": spec.channels}
    train = load_dataset(train_path, limit=s.nn_train_limit, **read)
    test = load_dataset(default_test_split(train_path), limit=s.nn_test_limit, **read)
    report = nn_protocol(ckpt.generator(), ckpt.class_names, train, test, s.nn_sizes, ckpt.noise, seed=0)
    atomic_write_json(folder / "nn-protocol.json", report.to_dict())
    outcome = Outcome()
    sizes = sorted({row.n for row in report.rows})
    errors = {(row.source, row.n): row.test_error for row in report.rows}
    sources = list(dict.fromkeys(row.source for row in report.rows))
    rows = [[src, *(percent(errors[src, n]) for n in sizes)] for src in sources]
    table = Table(["1-NN fitted on", *(f"N = {n:,}" for n in sizes)], rows)
    outcome.table(f"1-NN test error on {report.test_size:,} real test digits", "table 3 (appendix)", table)
    n = max(sizes)
    generated, real = errors[sources[0], n], errors[sources[1], n]
    outcome.result(f"conditional DCGAN samples, 1-NN test error at N = {n:,}", "table 3", "2.98% (N = 50K)",
                   percent(generated), "at most 5%", generated <= 0.05)  # fmt: skip
    outcome.result(f"real training digits, 1-NN test error at N = {n:,}", "table 3", "3.1% (N = 50K)", percent(real))
    outcome.files.append("nn-protocol.json")
    return outcome
