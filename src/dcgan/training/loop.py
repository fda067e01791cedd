"""The loop around the step: one run's networks, data order, logging, checkpoints and Ctrl-C.

``Trainer.fit`` is the paper's loop, read top to bottom: the next batch of the epoch's order, one
:func:`~dcgan.training.step.train_step`, the statistics logged and a checkpoint saved when due, and at each
epoch's end the fixed noise's samples and a checkpoint. What a resume restores is one record
(:class:`~dcgan.training.state.TrainingState`); what only watches the run (the progress bars, the loss plot,
evaluation, reports) is a :class:`~dcgan.training.callbacks.Callback`; starting, reopening and resuming a
run folder is runs.py's. All randomness comes from ``config.seed``, so a run resumed from any checkpoint
continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import NoReturn

import torch

from ..core.checkpoints import Checkpoint
from ..core.device import keep_freed_memory, pick_device
from ..core.folderlock import holding
from ..core.images import save_grid, to_unit_range
from ..core.models import Discriminator, Generator
from ..core.rundir import LAST, RunDir
from ..core.sampling import class_rows, generate, sample_noise
from ..data import ImageData
from ..data.summary import summarize
from ..errors import DCGANError
from . import distributed, divergence
from .autoprecision import decide_precision
from .callbacks import Callback, ProgressBars, default_callbacks
from .config import TrainConfig
from .invocation import resume_command
from .labels import class_names_of
from .length import describe_length, short_run_hint
from .state import Position, TrainingState, steps_per_epoch
from .step import STAT_NAMES, Precision, train_step
from .stopping import StopRequest, peers_watched


class Trainer:
    """Owns one run: its networks and the wrappers the step runs (DDP, compiled), its state (:attr:`state`, what a
    checkpoint holds), its data order, metrics and run folder, and the callbacks that watch it.

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
        self.data_summary = summarize(data)  # printed at the start and kept in every checkpoint
        self.run = RunDir(run_dir)
        device = pick_device(config.device)
        self.world = distributed.setup(device)
        self.device = distributed.local_device(device, self.world)
        self.class_names = class_names_of(data) if config.conditional else []
        self.spec = self.config.model_spec(num_classes=len(self.class_names))
        self.global_batch = config.batch_size * self.world.size  # --batch-size is per replica
        if len(data) < self.global_batch:
            raise DCGANError(
                f"the dataset has {len(data)} images, fewer than one batch of {self.global_batch}",
                "lower --batch-size or add images",
            )
        self.steps_per_epoch = steps_per_epoch(len(data), self.global_batch)

        if self.device.type == "cpu" and config.keep_freed_memory:
            keep_freed_memory()
        torch.manual_seed(config.seed)
        # NHWC: measured faster for fp32 and bf16 on CPU (docs/benchmarks.md), and what CUDA's tensor cores want
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        G = Generator(self.spec).to(self.device, memory_format=self.memory_format)
        D = Discriminator(self.spec).to(self.device, memory_format=self.memory_format)
        # the step runs the (DDP-wrapped, compiled) wrappers; checkpoints read the plain modules sharing their weights
        steps = [distributed.wrap(net, self.device, self.world, config.sync_bn) for net in (G, D, D)]
        steps[2] = D  # G's pass through D trains no D weight: no gradient to average, so no DDP wrapper
        self._G_step, self._D_step, self._D_for_g = (torch.compile(n) for n in steps) if config.compile else steps
        self.state = TrainingState.new(self.config, G, D, self.device, self.world, self.global_batch)
        self.labels = data.labels.to(self.device) if config.conditional else None  # small: kept on the device

        if checkpoint is not None:  # a resumed run: its state, and the precision its probe chose on this machine
            if checkpoint.meta["num_images"] != len(data):
                raise DCGANError(
                    f"the run was trained on {checkpoint.meta['num_images']} images but the data now has {len(data)}",
                    f"restore the data at {config.data or 'the bundled sample'} as it was, or start a new run",
                )
            self.state.restore(checkpoint, self.world.size)
        stored = checkpoint.meta.get("precision_probe") if checkpoint else None
        self.precision_name, self.precision_reason, self.probe = decide_precision(
            self.config, G, D, self.device, self.memory_format, self.world, stored
        )
        self.precision = Precision(self.precision_name, self.device)

        watchers = default_callbacks(self.config) if callbacks is None else list(callbacks)
        self.callbacks = [*watchers, *([ProgressBars()] if config.progress else [])]  # the bars: whatever watches
        self.notes: dict[str, str] = {}  # shown beside the losses in the progress bar (health warnings)
        self._pending: list[torch.Tensor] = []  # step statistics not yet read from the device
        self._latest: torch.Tensor | None = None  # the last step's, for the progress bar between flushes
        self._order: tuple[int, torch.Tensor] | None = None  # (epoch, its image order)
        self.stop_request = StopRequest(self.world)  # Ctrl-C and SIGTERM
        self._last_save = monotonic()

    # the state's parts, read where scripts and callbacks read them (one record holds them: self.state)
    G = property(lambda self: self.state.G)
    D = property(lambda self: self.state.D)
    opt_g = property(lambda self: self.state.opt_g)
    opt_d = property(lambda self: self.state.opt_d)
    noise_rng = property(lambda self: self.state.noise_rng)
    fixed_noise = property(lambda self: self.state.fixed_noise)
    average = property(lambda self: self.state.average)
    augment = property(lambda self: self.state.augment)
    step = property(lambda self: self.state.step)
    epoch = property(lambda self: self.state.epoch)
    batch_in_epoch = property(lambda self: self.state.batch_in_epoch)

    @property
    def run_dir(self) -> Path:
        return self.run.root

    @property
    def position(self) -> Position:
        """Where the run stands now, as its next checkpoint will record it."""
        s = self.state
        return Position(s.epoch, s.batch_in_epoch, s.step, len(self.data), self.config.batch_size, self.world.size)

    @property
    def total_steps(self) -> int:
        """The step the run ends at (--steps, --kimg, or the end of epoch --epochs): :meth:`Position.total_steps`."""
        return self.position.total_steps(self.config)

    def overview(self) -> list[str]:
        """What this process will do, for printing before it starts: length, a hint if short, precision."""
        lines = [describe_length(self.total_steps, self.steps_per_epoch, self.global_batch)]
        if self.step:
            lines[0] += f", resuming at step {self.step:,}"
        hint = short_run_hint(self.total_steps, self.steps_per_epoch, self.global_batch)
        lines += [f"hint: {hint}"] if hint else []
        return [*lines, f"precision: {self.precision_reason}"]

    def save(self, name: str = LAST) -> Path:
        """Write the full training state to ``checkpoints/<name>`` (by default the run's last checkpoint)."""
        path = self.run.checkpoints / name
        about = {
            "num_images": len(self.data),
            "world_size": self.world.size,
            "class_names": self.class_names,
            "data": self.data_summary,
            "saved_at": datetime.now().isoformat(timespec="seconds"),
            **({"precision_probe": self.probe} if self.probe is not None else {}),
        }
        divergence.check_weights({"G": self.G, "D": self.D}, self.step, self.run.root, self.run.last_checkpoint)
        self.state.to_checkpoint(path, self.config.to_dict(), about, self.global_batch)
        return path

    # ---- the loop ----------------------------------------------------------------------
    def fit(self) -> Trainer:
        """Train until ``total_steps`` steps are done (``--steps``, ``--kimg`` or ``--epochs``); returns self."""
        with self._open_run_folder():
            self._fit()
        return self

    def _fit(self) -> None:
        state = self.state
        images = self._place_images()
        state.G.train()
        state.D.train()
        self._last_save = monotonic()
        self._notify("on_start")
        try:
            with self.stop_request.handled(), peers_watched(self.world, lambda: self.step, self.run.root):
                while not self.stop_request.due:
                    if state.batch_in_epoch == self.steps_per_epoch:  # samples, checkpoint, plot
                        self._end_epoch()
                        continue
                    if state.step >= self.total_steps:
                        break
                    self.train_batch(images, self._next_batch())
                    state.batch_in_epoch += 1
                    if state.step % self.config.log_every == 0:
                        self._flush_metrics()
                        self.stop_request.share()
                    if self._save_due() and state.batch_in_epoch < self.steps_per_epoch:  # an epoch's end saves
                        self._flush_metrics()  # every step up to the checkpoint must be on disk before it
                        self.save()
                        self._last_save = monotonic()
                    self._notify("on_step")
            if self.stop_request.due:
                self._stop()
            if state.batch_in_epoch:  # a --steps/--kimg length that ends inside an epoch
                self._flush_metrics()
                if self.world.is_main:
                    self.save()
            if self.world.is_main:
                self._save_samples(self.run.final_samples)
            self._notify("on_end")
        finally:
            self._notify("on_close")

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled image order of one epoch, a function of (seed, epoch) only."""
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.data), generator=rng)

    def _next_batch(self) -> torch.Tensor:
        """Image indices of the current epoch's next batch."""
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, self.epoch_order(self.epoch))
        start = self.batch_in_epoch * self.global_batch
        return self._order[1][start : start + self.global_batch]

    def train_batch(self, images: torch.Tensor, idx: torch.Tensor) -> None:
        """One step on ``images[idx]``: gather uint8, scale on the device, draw z, update D then G."""
        state = self.state
        idx = distributed.rank_slice(idx, self.world)
        batch = images[idx.to(images.device)].to(self.device, non_blocking=True)
        real = to_unit_range(batch).contiguous(memory_format=self.memory_format)
        # every rank draws the global batch's z and keeps its rows: the generator stays the same on all ranks
        z = sample_noise(len(idx) * self.world.size, self.spec.nz, self.config.noise, state.noise_rng, self.device)
        z = distributed.rank_slice(z, self.world)
        labels = None if self.labels is None else self.labels[idx.to(self.device)]
        nets = (self._G_step, self._D_step, state.opt_g, state.opt_d)
        stats = train_step(*nets, real, z, self.precision, labels, self._D_for_g, augment=state.augment)
        self._pending.append(stats)
        self._latest = stats
        state.step += 1
        if state.average is not None:
            state.average.update(state.step * self.global_batch, self.global_batch)
        if state.augment:
            state.augment.observe(stats[STAT_NAMES.index("d_x_sign")], state.step)

    def _end_epoch(self) -> None:
        """What the paper shows after every epoch: samples of the fixed noise; plus the loss plot and a checkpoint."""
        self._flush_metrics()
        self.state.epoch += 1
        self.state.batch_in_epoch = 0
        if self.world.is_main:
            self._save_samples(self.run.epoch_samples(self.epoch))
            self.save()
            if self.config.checkpoint_every and self.epoch % self.config.checkpoint_every == 0:
                self.save(self.run.epoch_checkpoint(self.epoch).name)
        self._last_save = monotonic()
        self._notify("on_epoch_end")

    def _save_due(self) -> bool:
        minutes = self.config.save_every_minutes
        return self.world.is_main and bool(minutes) and monotonic() - self._last_save >= 60 * minutes

    def _stop(self) -> NoReturn:
        """After Ctrl-C or SIGTERM: checkpoint what the finished steps learned, then say how to go on."""
        self._flush_metrics()
        if self.world.is_main:
            self.save()
        self._notify("on_end")
        raise KeyboardInterrupt(f"stopped at step {self.step}; resume with: {resume_command(self.run.root)}")

    # ---- metrics and samples -------------------------------------------------------------
    def _flush_metrics(self) -> dict | None:
        """Append the pending steps' statistics to the metrics file; returns the last row."""
        if not self._pending:
            return None
        values = torch.stack(self._pending).tolist()  # the only host sync of the loop
        self._pending.clear()
        first = self.step - len(values) + 1
        divergence.check_losses(values, first, self.run.root, self.run.last_checkpoint)  # on every rank: all stop
        extras = (self.augment.logged() if self.augment else []) or [{}] * len(values)  # ADA's p after each step
        if not self.world.is_main:  # rank 0 logs its own replica's statistics
            return dict(zip(STAT_NAMES, values[-1], strict=True))
        rows = [
            {"step": first + i, "epoch": self.epoch + 1, **dict(zip(STAT_NAMES, v, strict=True)), **extra}
            for i, (v, extra) in enumerate(zip(values, extras, strict=True))
        ]
        self.log(rows)
        return rows[-1]

    def log(self, rows: list[dict]) -> None:
        """Append rows to metrics.jsonl and hand them to the callbacks (TensorBoard shows every logged row)."""
        self.run.append_metrics(rows)
        self._notify("on_metrics", rows)

    def latest_statistics(self) -> dict[str, float]:
        """The last step's statistics (loss_d, loss_g, ...): one host sync."""
        return dict(zip(STAT_NAMES, self._latest.tolist(), strict=True))

    def note(self, key: str, text: str | None) -> None:
        """Show (or with None, clear) a short note in the progress bar, e.g. a health warning."""
        if text is None:
            self.notes.pop(key, None)
        else:
            self.notes[key] = text

    @property
    def sampling_generator(self) -> Generator:
        """The G that samples and checkpoints' users see by default: the average where the run keeps one."""
        return self.average.calibrated(self.global_batch) if self.average else self.G

    def fixed_samples(self, G: Generator | None = None) -> torch.Tensor:
        """``G`` (default: :attr:`sampling_generator`) of the fixed noise, in eval mode; a conditional G draws
        it for each class in turn."""
        k = self.spec.num_classes
        G = self.sampling_generator if G is None else G
        return generate(G, self.fixed_noise, class_rows(len(self.fixed_noise), k) if k else None)

    def _save_samples(self, path: Path) -> None:
        """The fixed-noise grid; a conditional G's has one row per class."""
        n, k = len(self.fixed_noise), self.spec.num_classes
        save_grid(self.fixed_samples(), path, math.ceil(n / k) if k else None)

    # ---- surroundings --------------------------------------------------------------------
    def _notify(self, hook: str, *args) -> None:
        if not self.world.is_main:  # callbacks write files: rank 0's job
            return
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    @contextmanager
    def _open_run_folder(self) -> Iterator[None]:
        """Rank 0 holds the run folder while training (core/folderlock.py: a second writer would corrupt it) and
        readies it: the metrics a crash logged after the checkpoint (or before any), partial writes and the config
        are put right before the first step."""
        if not self.world.is_main:
            yield
            return
        self.run.prepare()
        with holding(self.run.root, "training"):
            self._ready_run_folder()
            yield

    def _ready_run_folder(self) -> None:
        self.run.drop_metrics_after(self.step)
        self.run.remove_partial_writes()
        self.config.save(self.run.config)
        processes = f" ({self.world.size} processes)" if self.world.distributed else ""
        print(f"training in {self.run.root}{processes}", flush=True)

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
