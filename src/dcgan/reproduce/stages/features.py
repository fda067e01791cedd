"""D as a feature extractor (``dcgan linear-probe``): the section-5 tables of CIFAR-10 and SVHN."""

from __future__ import annotations

import math
from pathlib import Path

from ...core.tensorfile import atomic_write_json
from ...experiments.linear_probe import PICK_RECORD, linear_probe, pick_scores, protocol_for
from ...experiments.tables import percent
from ..records import Outcome
from ..stage_context import RUN, Context

PAPER_PROBE = {  # protocol -> (the paper's table, {row: (its number, our target, the target's floor)})
    "cifar10": ("table 1", {"ours": ("82.8%", "at least 75%", 0.75), "kmeans": ("80.6%", "", None)}),
    "svhn-1000": ("table 2", {"ours": ("22.48% error", "", None)}),
}
ROWS = ("ours", "random", "pixels", "kmeans")  # linear_probe's row order, by baseline


def probe_progress(folder: Path) -> str:
    """What a stopped ``--pick-by-validation`` has scored (it continues from there); nothing without the flag."""
    scores = pick_scores(folder / PICK_RECORD)
    if not scores:
        return ""
    best = max(scores, key=scores.get)
    return (f"the pick has scored {len(scores)} checkpoint{'s' * (len(scores) > 1)} on validation, best "
            f"{Path(best).stem} {percent(scores[best])}")  # fmt: skip


def probe_stage(ctx: Context, folder: Path, protocol_name: str, dataset: str) -> Outcome:
    """The section-5 table: L2-SVMs on D's features beside a random D, raw pixels and K-means."""
    s = ctx.settings
    protocol = protocol_for(protocol_name, s.labels_per_class, s.validation_size, s.draws)
    train_path, test_path = ctx.data[dataset]
    pick = ctx.levers.pick_by_validation  # else the last checkpoint, as the paper's D is its trained D
    source = ctx.stage_folders["train"] / RUN if pick else ctx.checkpoint()
    report = linear_probe(source, train_path, protocol, test_path, kmeans_k=s.kmeans_k, c_grid=s.c_grid,
                          max_iter=s.max_iter, limit=s.probe_limit, test_limit=s.probe_test_limit, device=ctx.device,
                          progress=ctx.progress, pick_by_validation=pick,
                          pick_record=folder / PICK_RECORD if pick else None)  # fmt: skip
    atomic_write_json(folder / "linear-probe.json", report.to_dict())
    paper_ref, paper = PAPER_PROBE[protocol_name]
    seconds = round(sum(r.extract_seconds + r.svm_seconds for r in report.rows))
    outcome = Outcome(compute={"extract + SVM seconds": seconds})
    outcome.table(f"{protocol.name} protocol", paper_ref, report.table())
    tested = report.test["images"]
    for key, row in zip(ROWS, report.rows, strict=False):
        if key in paper:
            paper_value, target, floor = paper[key]
            if protocol.full:  # one SVM: its uncertainty is the test set's size
                value = row.accuracy
                spread, label = math.sqrt(value * (1 - value) / tested), "accuracy, all labels"
                label += f" (+- its standard error on {tested:,} test images)"
            else:
                value, spread = 1 - row.limited_accuracy_mean, row.limited_accuracy_std
                label = f"test error, {protocol.labels_per_class}/class (+- standard deviation over"
                label += f" {protocol.draws} draws of the labelled images)"
            met = None if floor is None else value >= floor
            ours = f"{percent(value)} +- {100 * spread:.2f}"
            outcome.result(f"{row.model}: {label}", paper_ref, paper_value, ours, target, met)
    if report.picked is not None:
        scores = ", ".join(f"{Path(c).stem} {percent(v)}" for c, v in report.picked.items())
        outcome.notes.append(f"D is the checkpoint with the best validation accuracy of those training kept"
                             f" (--pick-by-validation; the test split was not looked at to choose): {Path(report.checkpoint).stem}"
                             f" of {scores}")  # fmt: skip
    outcome.files.append("linear-probe.json")
    return outcome
