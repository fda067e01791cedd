"""The loop around the step: one run's networks, data order, logging, checkpoints, resume and Ctrl-C.

``Trainer.fit`` is the paper's loop: take the next batch, run :func:`~dcgan.training.step.train_step`,
then the bookkeeping, each piece a small named method: ``_after_step`` (progress, and logging
and the timed save when they are due), ``_end_epoch`` (the epoch's samples, plot and
checkpoint) and ``_stop`` (the checkpoint on Ctrl-C). Whatever only watches the run (the loss plot, and
later evaluation or reports) is a :class:`~dcgan.training.callbacks.Callback`. All randomness comes from
``config.seed``, so a run resumed from any checkpoint continues exactly as if it had never
stopped.
"""

from __future__ import annotations

import math
import signal
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import NoReturn

import torch
from tqdm import tqdm

from ..core.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from ..core.device import keep_freed_memory, pick_device
from ..core.images import save_grid, to_unit_range
from ..core.models import Discriminator, Generator
from ..core.rundir import LAST, RunDir
from ..core.sampling import class_rows, generate, sample_noise
from ..data import ImageData, load_dataset
from ..errors import DCGANError
from .callbacks import Callback, default_callbacks
from .config import RESUMABLE, TrainConfig
from .labels import class_names_of
from .step import STAT_NAMES, Precision, make_optimizers, train_step


def load_training_data(config: TrainConfig) -> ImageData:
    """The dataset a config names, read with its data options (and its cache setting)."""
    return load_dataset(config.data, config.source_options(), progress=config.progress, cache=config.cache)


class Trainer:
    """Owns one run: its networks, optimizers, RNGs, progress and run folder.

    Randomness: initialisation from the global torch RNG seeded with ``config.seed``, the data
    order of epoch ``e`` from a generator seeded by (seed, e), z from a generator whose state
    is checkpointed.
    """

    def __init__(
        self,
        config: TrainConfig,
        data: ImageData,
        run_dir: Path,
        checkpoint: Checkpoint | None = None,
        callbacks: list[Callback] | None = None,
    ):
        self.config = config.fitted_to(data.resolution, data.channels)
        self.data = data
        self.run = RunDir(run_dir)
        self.device = pick_device(config.device)
        self.class_names = class_names_of(data) if config.conditional else []
        self.spec = self.config.model_spec(num_classes=len(self.class_names))
        if len(data) < config.batch_size:
            raise DCGANError(
                f"the dataset has {len(data)} images, fewer than one batch of {config.batch_size}",
                "lower --batch-size or add images",
            )
        # the last partial batch is dropped: BatchNorm wants full batches
        self.steps_per_epoch = len(data) // config.batch_size

        if self.device.type == "cpu" and config.keep_freed_memory:
            keep_freed_memory()
        torch.manual_seed(config.seed)
        # NHWC: measured faster for fp32 and bf16 on CPU (docs/benchmarks.md), and what CUDA's tensor cores want
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.G = Generator(self.spec).to(self.device, memory_format=self.memory_format)
        self.D = Discriminator(self.spec).to(self.device, memory_format=self.memory_format)
        self.opt_g, self.opt_d = make_optimizers(self.G, self.D, self.config, self.device)
        self.labels = data.labels.to(self.device) if config.conditional else None  # small: kept on the device
        self.precision = Precision(config.precision, self.device)
        # the step runs the compiled wrappers; checkpoints read the plain modules they share weights with
        self._G_step, self._D_step = (
            (torch.compile(self.G), torch.compile(self.D)) if config.compile else (self.G, self.D)
        )
        self.noise_rng = torch.Generator(self.device).manual_seed(config.seed + 1)
        fixed_rng = torch.Generator().manual_seed(config.seed + 2)
        self.fixed_noise = sample_noise(config.sample_count, self.spec.nz, config.noise, fixed_rng)
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # completed batches of the current epoch
        self.step = 0  # completed steps in all
        self._pending: list[torch.Tensor] = []  # step statistics not yet read from the device
        self._order: tuple[int, torch.Tensor] | None = None  # (epoch, its image order)
        self._stop_requested = False
        self._last_save = monotonic()
        self._bar: tqdm | None = None
        self.callbacks = default_callbacks(self.config) if callbacks is None else list(callbacks)
        if checkpoint is not None:
            self._restore(checkpoint)

    @property
    def run_dir(self) -> Path:
        return self.run.root

    @property
    def checkpoint_dir(self) -> Path:
        return self.run.checkpoints

    @property
    def metrics_path(self) -> Path:
        return self.run.metrics

    # ---- state -------------------------------------------------------------------------
    def save(self, name: str = LAST) -> Path:
        """Write the full training state to ``checkpoints/<name>`` (by default the run's last checkpoint)."""
        path = self.run.checkpoints / name
        rng = {"rng.noise": self.noise_rng.get_state(), "fixed_noise": self.fixed_noise}
        meta = {
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "num_images": len(self.data),
            "class_names": self.class_names,
            "saved_at": datetime.now().isoformat(timespec="seconds"),
        }
        save_checkpoint(path, self.G, self.D, self.opt_g, self.opt_d, rng, meta)
        return path

    def _restore(self, ckpt: Checkpoint) -> None:
        if ckpt.meta["num_images"] != len(self.data):
            raise DCGANError(
                f"the run was trained on {ckpt.meta['num_images']} images but the data now has {len(self.data)}",
                f"restore the data at {self.config.data or 'the bundled sample'} as it was, or start a new run",
            )
        ckpt.load_model("G", self.G)
        ckpt.load_model("D", self.D)
        ckpt.load_optimizer("opt_g", self.opt_g)
        ckpt.load_optimizer("opt_d", self.opt_d)
        self.noise_rng.set_state(ckpt.tensors["rng.noise"])
        self.fixed_noise = ckpt.tensors["fixed_noise"]
        self.epoch, self.batch_in_epoch, self.step = ckpt.meta["epoch"], ckpt.meta["batch_in_epoch"], ckpt.meta["step"]
        self.run.drop_metrics_after(self.step)  # lines a crash left between the checkpoint and itself

    # ---- the loop ----------------------------------------------------------------------
    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled image order of one epoch, a function of (seed, epoch) only."""
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.data), generator=rng)

    def train_batch(self, images: torch.Tensor, idx: torch.Tensor) -> None:
        """One step on ``images[idx]``: gather uint8, scale on the device, draw z, update D then G."""
        batch = images[idx.to(images.device)].to(self.device, non_blocking=True)
        real = to_unit_range(batch).contiguous(memory_format=self.memory_format)
        z = sample_noise(len(idx), self.spec.nz, self.config.noise, self.noise_rng, self.device)
        labels = None if self.labels is None else self.labels[idx.to(self.device)]
        self._pending.append(
            train_step(self._G_step, self._D_step, self.opt_g, self.opt_d, real, z, self.precision, labels)
        )
        self.step += 1

    def fit(self) -> Trainer:
        """Train until ``config.epochs`` epochs are complete; returns self."""
        cfg = self.config
        self.run.root.mkdir(parents=True, exist_ok=True)
        cfg.save(self.run.config)
        images = self._place_images()
        self.G.train()
        self.D.train()
        self._last_save = monotonic()
        self._notify("on_start")
        with self._graceful_interrupt(), self._progress_bar():
            while self.epoch < cfg.epochs and not self._stop_requested:
                if self.batch_in_epoch == self.steps_per_epoch:
                    self._end_epoch()
                    continue
                self.train_batch(images, self._next_batch())
                self._after_step()
                self._notify("on_step")
        if self._stop_requested:
            self._stop()
        self._save_samples(self.run.final_samples)
        self._notify("on_end")
        return self

    def _notify(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def _next_batch(self) -> torch.Tensor:
        """Image indices of the current epoch's next batch."""
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, self.epoch_order(self.epoch))
        start = self.batch_in_epoch * self.config.batch_size
        return self._order[1][start : start + self.config.batch_size]

    def _after_step(self) -> None:
        """Progress, then logging and the timed save when they are due."""
        self.batch_in_epoch += 1
        self._bar.update(self.config.batch_size)
        if self.step % self.config.log_every == 0:
            last = self._flush_metrics()
            self._bar.set_postfix(step=self.step, loss_d=f"{last['loss_d']:.3f}", loss_g=f"{last['loss_g']:.3f}")
        if self._save_due() and self.batch_in_epoch < self.steps_per_epoch:  # an epoch's end saves anyway
            self._flush_metrics()  # every step up to the checkpoint must be on disk before it
            self.save()
            self._last_save = monotonic()

    def _save_due(self) -> bool:
        minutes = self.config.save_every_minutes
        return bool(minutes) and monotonic() - self._last_save >= 60 * minutes

    def _end_epoch(self) -> None:
        """What the paper shows after every epoch: samples of the fixed noise; plus the loss plot and a checkpoint."""
        self._flush_metrics()
        self.epoch += 1
        self.batch_in_epoch = 0
        self._save_samples(self.run.epoch_samples(self.epoch))
        self.save()
        if self.config.checkpoint_every and self.epoch % self.config.checkpoint_every == 0:
            self.save(self.run.epoch_checkpoint(self.epoch).name)
        self._last_save = monotonic()
        self._bar.set_description(self._epoch_label())
        self._notify("on_epoch_end")

    def _save_samples(self, path: Path) -> None:
        """The fixed noise through G; a conditional G draws it for each class in turn, one row per class."""
        n, k = len(self.fixed_noise), self.spec.num_classes
        labels = class_rows(n, k) if k else None
        save_grid(generate(self.G, self.fixed_noise, labels), path, math.ceil(n / k) if k else None)

    def _stop(self) -> NoReturn:
        """After a Ctrl-C: checkpoint what the finished steps learned, then say how to go on."""
        self._flush_metrics()
        self.save()
        self._notify("on_end")
        raise KeyboardInterrupt(f"stopped at step {self.step}; resume with: dcgan train --resume {self.run.root}")

    def _flush_metrics(self) -> dict | None:
        """Append the pending steps' statistics to the metrics file; returns the last row."""
        if not self._pending:
            return None
        values = torch.stack(self._pending).tolist()  # the only host sync of the loop
        first = self.step - len(values) + 1
        rows = [
            {"step": first + i, "epoch": self.epoch + 1, **dict(zip(STAT_NAMES, v, strict=True))}
            for i, v in enumerate(values)
        ]
        self.run.append_metrics(rows)
        self._pending.clear()
        self._notify("on_metrics", rows)
        return rows[-1]

    # ---- surroundings --------------------------------------------------------------------
    def _epoch_label(self) -> str:
        return f"epoch {min(self.epoch + 1, self.config.epochs)}/{self.config.epochs}"

    @contextmanager
    def _progress_bar(self):
        cfg = self.config
        total = cfg.epochs * self.steps_per_epoch * cfg.batch_size
        self._bar = tqdm(
            total=total,
            initial=self.step * cfg.batch_size,
            desc=self._epoch_label(),
            unit="img",
            unit_scale=True,
            disable=not cfg.progress,
            dynamic_ncols=True,
        )
        try:
            yield self._bar
        finally:
            self._bar.close()

    @contextmanager
    def _graceful_interrupt(self):
        """First Ctrl-C: finish the step, checkpoint, stop. Second: stop at once (the last checkpoint stays intact)."""

        def request_stop(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        try:
            previous = signal.signal(signal.SIGINT, request_stop)
        except ValueError:  # not the main thread: leave signals alone
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _place_images(self) -> torch.Tensor:
        """Keep the uint8 dataset on the accelerator when it fits easily, so batches never cross the bus."""
        images = self.data.images
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            # too large: gather on the host (a memory-mapped set stays mapped, never copied whole)
            return images.to(self.device) if images.nbytes < free // 4 else images
        if self.device.type == "mps" and images.nbytes < 2**31:
            return images.to(self.device)
        return images


def train(config: TrainConfig, data: ImageData | None = None, callbacks: list[Callback] | None = None) -> Trainer:
    """Train a DCGAN from scratch; ``data`` defaults to the dataset the config names, ``callbacks``
    to the ones the config asks for."""
    if config.out is not None and RunDir(config.out).last_checkpoint.exists():
        raise DCGANError(
            f"{config.out} already holds a run", f"continue it with --resume {config.out}, or choose another --out"
        )
    if data is None:
        data = load_training_data(config)
        if data.skipped:
            print(f"skipped {data.skipped} unreadable image files")
    run = RunDir(config.out) if config.out else RunDir.new()
    return Trainer(config.updated(out=str(run.root)), data, run.root, callbacks=callbacks).fit()


def resume(
    run_dir: str | Path, data: ImageData | None = None, callbacks: list[Callback] | None = None, **changes
) -> Trainer:
    """Continue the run in ``run_dir`` from its last checkpoint; ``changes`` may set RESUMABLE options."""
    run_dir = Path(run_dir)
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
    config = TrainConfig.from_dict(ckpt.meta["config"]).updated(out=str(run_dir), **changes)
    if data is None:
        data = load_training_data(config)
    trainer = Trainer(config, data, run_dir, checkpoint=ckpt, callbacks=callbacks)
    if trainer.epoch >= config.epochs:
        raise DCGANError(
            f"{run_dir} has already trained {trainer.epoch} of {config.epochs} epochs",
            "pass a larger --epochs to continue it",
        )
    return trainer.fit()
