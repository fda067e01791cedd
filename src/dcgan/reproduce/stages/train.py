"""Stages that decode a recipe's data and train from its config files (``dcgan prepare``, ``dcgan train``)."""

from __future__ import annotations

import json
from pathlib import Path

from ...core.checkpoints import load_checkpoint
from ...core.rundir import RunDir
from ...core.tensorfile import atomic_write_json
from ...data.summary import summarize
from ...experiments.tables import Table
from ...training import TrainConfig, default_callbacks, load_training_data, reopen, start
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


def _train_options(ctx: Context, stage: str, dataset: str, folder: Path) -> dict:
    return read_options(ctx.config_file(stage)) | {
        "data": str(ctx.data[dataset][0]),
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
    elif not _finished(load_checkpoint(run.last_checkpoint).meta):  # else: killed after its last checkpoint
        trainer = reopen(run.root, callbacks=callbacks, progress=ctx.progress, device=ctx.device)
    else:
        trainer = None
    if trainer is not None:
        trainer.fit()
        atomic_write_json(
            folder / "precision.json", {"precision": trainer.precision_reason, "device": str(trainer.device)}
        )
    meta = load_checkpoint(run.last_checkpoint).meta
    batch = meta["config"]["batch_size"] * meta.get("world_size", 1)
    precision = folder / "precision.json"  # of the session that trained last (none: a run finished before)
    last = json.loads(precision.read_text()) if precision.is_file() else {}
    outcome = Outcome(compute={"steps": meta["step"], "epochs": meta["epoch"], "images seen": meta["step"] * batch,
                               "batch": batch, **last})  # fmt: skip
    for epoch, paper in epochs_shown.items():
        if epoch < meta["epoch"]:
            outcome.figure(run.epoch_samples(epoch).relative_to(folder), f"samples after {_epochs(epoch)}", paper)
    outcome.figure(
        run.epoch_samples(meta["epoch"]).relative_to(folder),
        f"samples after {_epochs(meta['epoch'])} ({meta['step']:,} steps)",
        epochs_shown.get(meta["epoch"], ""),
    )
    outcome.files.append("options.json")
    outcome.files.append(CHECKPOINT)
    return outcome


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("s" if n != 1 else "")


def _finished(meta: dict) -> bool:
    """Whether a checkpoint is the end of its run (its steps all done)."""
    config, ranks = TrainConfig.from_dict(meta["config"]), meta.get("world_size", 1)
    return meta["step"] >= config.total_steps(meta["num_images"] // (config.batch_size * ranks), ranks)
