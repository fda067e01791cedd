"""Stages that decode a recipe's data and train from its config files (``dcgan prepare``, ``dedup``, ``train``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ...core.checkpoints import checkpoint_meta
from ...core.rundir import RunDir
from ...core.tensorfile import atomic_write_json
from ...data import dedup, prepare_dataset, prepared
from ...data.summary import summarize
from ...experiments.tables import Table
from ...training import Position, TrainConfig, default_callbacks, load_training_data, reopen, start
from ...training.options_file import config_from, read_options, write_options
from ..records import Outcome
from ..stage_context import CHECKPOINT, RUN, Context


def prepare_data(ctx: Context, folder: Path, stages: list[tuple[str, str]]) -> Outcome:
    """Decode each training stage's data once into the cache (training then maps it) and describe it."""
    outcome = Outcome()
    rows = []
    for stage, dataset in stages:
        config = config_from(None, **_train_options(ctx, stage, dataset, folder))
        summary = summarize(load_training_data(config.updated(progress=ctx.progress)))
        # where the data set lies under the data root, not the cache it was decoded into
        source = ctx.data[dataset][0].relative_to(ctx.data_root).as_posix()
        rows.append([stage, source, summary["images"], f"{summary['resolution']} px", summary["channels"]])
    atomic_write_json(folder / "data.json", rows)
    outcome.table("data", "", Table(["stage", "source", "images", "size", "channels"], rows))
    outcome.files.append("data.json")
    return outcome


def dedup_data(ctx: Context, folder: Path, stage: str, dataset: str) -> Outcome:
    """Section 4.1: decode the data set at the training size and remove its near duplicates (the paper removed
    about 275,000 of 3 million bedrooms); training then reads what is left, a ``--limit`` of it where its
    config holds one, the rest held out. Decoded again only when the copy is not complete."""
    options = read_options(ctx.config_file(stage))
    radius, unique = ctx.settings.dedup_radius, ctx.training_source(dataset)
    if not prepared.detect(unique):
        decoded = folder / f"{dataset}-decoded"
        for partial in (decoded, unique):
            shutil.rmtree(partial, ignore_errors=True)
        prepare_dataset(ctx.data[dataset][0], decoded, resolution=options["resolution"], progress=ctx.progress)
        dedup.dedup_prepared(decoded, unique, radius=radius, progress=ctx.progress)
        shutil.rmtree(decoded)
    report = json.loads((unique / dedup.REPORT).read_text())
    trained = min(options.get("limit") or report["kept"], report["kept"])
    source = ctx.data[dataset][0].relative_to(ctx.data_root).as_posix()
    counts = (report["images"], report["groups"], report["removed"], report["kept"], trained, report["kept"] - trained)
    rows = [[stage, source, *(f"{n:,}" for n in counts)]]
    atomic_write_json(folder / "data.json", rows)
    columns = ["stage", "source", "images", f"near-duplicate groups (within {radius} bits)", "removed", "kept",
               "trained on", "held out"]  # fmt: skip
    outcome = Outcome()
    outcome.table("data, near duplicates removed", "section 4.1", Table(columns, rows))
    outcome.files += ["data.json", f"{unique.name}/{dedup.REPORT}"]
    return outcome


def _train_options(ctx: Context, stage: str, dataset: str, folder: Path) -> dict:
    return ctx.train_options(stage) | {
        "data": str(ctx.training_source(dataset)),
        "out": str(folder / RUN),
        "device": ctx.device,
        "progress": ctx.progress,
    }


def train_stage(ctx: Context, folder: Path, stage: str, dataset: str, epochs_shown: dict[int, str]) -> Outcome:
    """Train from the stage's config file, continuing the run in the folder when an earlier try left one.

    The file actually trained from (the shipped one, with the data and the folder filled in) is
    kept as ``options.json``: ``dcgan train --config options.json`` repeats the stage.
    """
    options_file = write_options(folder / "options.json", _train_options(ctx, stage, dataset, folder))
    run = RunDir(folder / RUN)
    config = config_from(options_file)
    callbacks = [*default_callbacks(config), *ctx.callbacks]
    if not run.last_checkpoint.exists():
        trainer = start(config, callbacks=callbacks)
    elif not _finished(run.last_checkpoint):  # else: killed after its last checkpoint
        trainer = reopen(run.root, callbacks=callbacks, progress=ctx.progress, device=ctx.device)
    else:
        trainer = None
    if trainer is not None:
        trainer.fit()
        atomic_write_json(
            folder / "precision.json", {"precision": trainer.precision_reason, "device": str(trainer.device)}
        )
    meta = checkpoint_meta(run.last_checkpoint)
    at = Position.of_checkpoint(meta)
    precision = folder / "precision.json"  # of the session that trained last (none: a run finished before)
    last = json.loads(precision.read_text()) if precision.is_file() else {}
    outcome = Outcome(compute={"steps": at.step, "epochs": at.epoch, "images seen": at.images_seen,
                               "batch": at.global_batch, **last})  # fmt: skip
    for epoch, paper in epochs_shown.items():
        if epoch < at.epoch:
            seen = epoch * at.steps_per_epoch * at.global_batch
            outcome.figure(run.epoch_samples(epoch).relative_to(folder), f"samples after {_epochs(epoch)} ({seen:,}"
                           " images seen)", paper)  # fmt: skip
    outcome.figure(
        run.epoch_samples(at.epoch).relative_to(folder),
        f"samples after {_epochs(at.epoch)} ({at.step:,} steps, {at.images_seen:,} images seen)",
        epochs_shown.get(at.epoch, ""),
    )
    outcome.files.append("options.json")
    outcome.files.append(CHECKPOINT)
    return outcome


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("s" if n != 1 else "")


def _finished(checkpoint: Path) -> bool:
    """Whether a checkpoint is the end of its run (its steps all done)."""
    meta = checkpoint_meta(checkpoint)
    return Position.of_checkpoint(meta).finished(TrainConfig.from_dict(meta["config"]))
