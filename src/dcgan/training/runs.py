"""A run folder opened for training: :func:`start` a new run, :func:`reopen` one at its last checkpoint, and
:func:`train` / :func:`resume`, which do that and ``fit()`` it.

Everything about a run folder is checked here before any work: an ``--out`` that already holds a run, a
``--resume`` folder that is missing or is a file, options a resume may not change, a run already finished.
"""

from __future__ import annotations

from pathlib import Path

from ..core.checkpoints import load_checkpoint, refuse_generator_only
from ..core.rundir import RunDir
from ..data import ImageData, load_dataset
from ..errors import DCGANError
from . import distributed
from .callbacks import Callback
from .config import RESUMABLE, TrainConfig
from .invocation import resume_command
from .loop import Trainer


def load_training_data(config: TrainConfig) -> ImageData:
    """The dataset a config names, read with its data options (and its cache setting)."""
    return load_dataset(config.data, config.source_options(), progress=config.progress, cache=config.cache)


def train(config: TrainConfig, data: ImageData | None = None, callbacks: list[Callback] | None = None) -> Trainer:
    """Train a DCGAN from scratch; ``data`` defaults to the dataset the config names, ``callbacks``
    to the ones the config asks for.

    Under ``torchrun --max-restarts K``, a restarted job runs the same command again: when
    ``--out`` then holds a checkpoint, the run resumes from it instead of refusing.
    """
    return start(config, data, callbacks).fit()


def start(config: TrainConfig, data: ImageData | None = None, callbacks: list[Callback] | None = None) -> Trainer:
    """A new run, ready to ``fit()``: what :func:`train` does before training (the CLI prints its overview)."""
    if config.out is not None and RunDir(config.out).last_checkpoint.exists():
        if distributed.restart_count() > 0:
            changes = {name: getattr(config, name) for name in RESUMABLE}
            return reopen(config.out, data=data, callbacks=callbacks, **changes)
        raise DCGANError(
            f"{config.out} already holds a run",
            f"continue it with {resume_command(Path(config.out))}, or choose another --out",
        )
    run = RunDir(config.out) if config.out else RunDir.new()
    if distributed.env_world().is_main:
        run.prepare()  # a wrong --out fails now, not after the data is read and the networks built
    if config.data and Path(config.data).expanduser().exists():  # stored absolute: the run works from any folder
        config = config.updated(data=str(Path(config.data).expanduser().resolve()))
    if data is None:
        data = load_training_data(config)
        if data.skipped:
            print(f"skipped {data.skipped} unreadable image files")
    return Trainer(config.updated(out=str(run.root)), data, run.root, callbacks=callbacks)


def resume(
    run_dir: str | Path, data: ImageData | None = None, callbacks: list[Callback] | None = None, **changes
) -> Trainer:
    """Continue the run in ``run_dir`` from its last checkpoint; ``changes`` may set RESUMABLE options."""
    return reopen(run_dir, data, callbacks, **changes).fit()


def reopen(
    run_dir: str | Path, data: ImageData | None = None, callbacks: list[Callback] | None = None, **changes
) -> Trainer:
    """The run in ``run_dir`` at its last checkpoint, ready to ``fit()`` on: what :func:`resume` does first."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        refuse_generator_only(run_dir, "resuming training")
        folder = run_dir.parent.parent if run_dir.parent.name == "checkpoints" else run_dir.parent
        raise DCGANError(
            f"--resume takes a run folder, and {run_dir} is a file",
            f"pass the run folder that holds checkpoints/ (here probably {folder})",
        )
    if not run_dir.is_dir():
        raise DCGANError(
            f"resume folder {run_dir} does not exist", "pass the run folder given as --out to the first run"
        )
    fixed = sorted(set(changes) - RESUMABLE)
    if fixed:
        flags = ", ".join("--" + k.replace("_", "-") for k in fixed)
        raise DCGANError(
            f"--resume continues a run with its own config; cannot change {flags}",
            "start a new run for different options",
        )
    ckpt = load_checkpoint(run_dir)
    # the folder may have been moved or copied since: it, not the stored --out, is the run now
    try:
        config = TrainConfig.from_dict(ckpt.meta["config"]).updated(out=str(run_dir), **changes)
    except (TypeError, ValueError) as exc:
        raise DCGANError(f"checkpoint {ckpt.path} holds a damaged config ({exc})", "start a new run") from None
    RunDir(run_dir).prepare()  # still writable (a full disk or a read-only mount fails here, before any work)
    if data is None:
        data = load_training_data(config)
    trainer = Trainer(config, data, run_dir, checkpoint=ckpt, callbacks=callbacks)
    if trainer.step >= trainer.total_steps:
        raise DCGANError(
            f"{run_dir} has already trained {trainer.step:,} of {trainer.total_steps:,} steps",
            "pass a larger --epochs, --steps or --kimg to continue it",
        )
    return trainer
