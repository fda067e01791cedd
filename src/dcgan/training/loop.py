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

from ..core.checkpoints import AVERAGE, Checkpoint, load_checkpoint, save_checkpoint
from ..core.device import keep_freed_memory, pick_device
from ..core.images import save_grid, to_unit_range
from ..core.models import Discriminator, Generator
from ..core.progress import progress_bar
from ..core.rundir import LAST, RunDir
from ..core.sampling import class_rows, generate, sample_noise
from ..core.signals import handling
from ..data import ImageData, load_dataset
from ..data.summary import summarize
from ..errors import DCGANError
from . import distributed, divergence
from .augment import make_augment
from .autoprecision import choose_precision, machine_key, step_timer
from .averaging import GeneratorAverage
from .callbacks import Callback, default_callbacks
from .config import PRECISIONS, RESUMABLE, TrainConfig
from .invocation import resume_command
from .labels import class_names_of
from .length import describe_length, short_run_hint
from .step import STAT_NAMES, Precision, make_optimizers, train_step

BAR_LOSSES_SECONDS = 1.0  # how often the bar reads the latest losses between flushes (one host sync each time)


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
        # the last partial batch is dropped: BatchNorm wants full batches
        self.steps_per_epoch = len(data) // self.global_batch

        if self.device.type == "cpu" and config.keep_freed_memory:
            keep_freed_memory()
        torch.manual_seed(config.seed)
        # NHWC: measured faster for fp32 and bf16 on CPU (docs/benchmarks.md), and what CUDA's tensor cores want
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        self.G = Generator(self.spec).to(self.device, memory_format=self.memory_format)
        self.D = Discriminator(self.spec).to(self.device, memory_format=self.memory_format)
        # the step runs the (DDP-wrapped, compiled) wrappers; checkpoints read the plain modules sharing their weights
        steps = [distributed.wrap(net, self.device, self.world, config.sync_bn) for net in (self.G, self.D, self.D)]
        steps[2] = self.D  # G's pass through D trains no D weight: no gradient to average, so no DDP wrapper
        self._G_step, self._D_step, self._D_for_g = (torch.compile(n) for n in steps) if config.compile else steps
        self.opt_g, self.opt_d = make_optimizers(self.G, self.D, self.config, self.device)
        self.labels = data.labels.to(self.device) if config.conditional else None  # small: kept on the device
        # the averaged G: a shadow of the raw one, never part of the game (training/averaging.py)
        self.average = GeneratorAverage(self.G, config.ema, config.ema_rampup, config.noise) if config.ema else None
        self.noise_rng = torch.Generator(self.device).manual_seed(config.seed + 1)
        self.augment = make_augment(self.config, self.device, self.world, self.global_batch)  # None: the paper
        fixed_rng = torch.Generator().manual_seed(config.seed + 2)
        fixed_noise = sample_noise(config.sample_count, self.spec.nz, config.noise, fixed_rng)
        self.fixed_noise = distributed.broadcast(fixed_noise, self.world)
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # completed batches of the current epoch
        self.step = 0  # completed steps in all
        self._pending: list[torch.Tensor] = []  # step statistics not yet read from the device
        self._order: tuple[int, torch.Tensor] | None = None  # (epoch, its image order)
        self._stop_requested = False  # set by the signal handler
        self._stopping = False  # under torchrun: a request that every rank knows of
        self._last_save = monotonic()
        self._bar: tqdm | None = None  # the whole run: images seen, ETA, losses
        self._epoch_bar: tqdm | None = None  # the current epoch
        self._bar_read_at = monotonic()
        self._notes: dict[str, str] = {}
        self.callbacks = default_callbacks(self.config) if callbacks is None else list(callbacks)
        if checkpoint is not None:
            self._restore(checkpoint)
        self._choose_precision(checkpoint)

    def _choose_precision(self, checkpoint: Checkpoint | None) -> None:
        """The precision asked for; for ``auto``, the probe's choice (kept in the checkpoint, so a resume on the
        same machine reuses it), the same on every rank."""
        cfg = self.config
        self.precision_name, self.precision_reason = cfg.precision, f"{cfg.precision} (as asked)"
        if cfg.precision == "auto":
            machine = machine_key(self.device)
            stored = (checkpoint.meta.get("precision_probe") if checkpoint else None) or {}
            if stored.get("machine") == machine:
                self.probe, reason = stored, f"{stored['reason']} [measured before this resume]"
            else:
                choice, reason = choose_precision(
                    self.device, step_timer(self.G, self.D, cfg, self.device, self.memory_format)
                )
                self.probe = {"machine": machine, "choice": choice, "reason": reason}
            self.precision_name, self.precision_reason = self.probe["choice"], reason
            if self.world.distributed:  # every rank trains in rank 0's choice
                choice = distributed.broadcast(torch.tensor(PRECISIONS.index(self.precision_name)), self.world)
                self.precision_name = PRECISIONS[int(choice)]
        self.precision = Precision(self.precision_name, self.device)

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
        rng |= self.augment.state() if self.augment else {}
        meta = {
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "num_images": len(self.data),
            "world_size": self.world.size,
            "class_names": self.class_names,
            "data": self.data_summary,
            "saved_at": datetime.now().isoformat(timespec="seconds"),
            **({"precision_probe": self.probe} if self.config.precision == "auto" else {}),
        }
        divergence.check_weights({"G": self.G, "D": self.D}, self.step, self.run.root, self.run.last_checkpoint)
        G_ema = self.average.calibrated(self.global_batch) if self.average else None
        save_checkpoint(path, self.G, self.D, self.opt_g, self.opt_d, rng, meta, G_ema)
        return path

    def _restore(self, ckpt: Checkpoint) -> None:
        if ckpt.meta["num_images"] != len(self.data):
            raise DCGANError(
                f"the run was trained on {ckpt.meta['num_images']} images but the data now has {len(self.data)}",
                f"restore the data at {self.config.data or 'the bundled sample'} as it was, or start a new run",
            )
        ckpt.load_model("G", self.G)
        ckpt.load_model("D", self.D)
        if self.average is not None:  # its BatchNorm statistics are recomputed before its first use
            ckpt.load_model(AVERAGE, self.average.G)
        ckpt.load_optimizer("opt_g", self.opt_g)
        ckpt.load_optimizer("opt_d", self.opt_d)
        self.noise_rng.set_state(ckpt.tensors["rng.noise"])
        self.fixed_noise = ckpt.tensors["fixed_noise"]
        if self.augment:
            self.augment.load_state(ckpt.tensors)
        self.epoch, self.batch_in_epoch, self.step = ckpt.meta["epoch"], ckpt.meta["batch_in_epoch"], ckpt.meta["step"]
        # another world size: continue at the global batch that holds the next unseen image (exact when it divides)
        self.batch_in_epoch = self.batch_in_epoch * ckpt.meta.get("world_size", 1) // self.world.size

    @property
    def total_steps(self) -> int:
        """The step the run ends at: --steps or --kimg, or else the end of epoch --epochs, counted from where
        the run is (a run resumed with another number of processes has another number of steps per epoch)."""
        cfg = self.config
        if cfg.steps is not None or cfg.kimg is not None:
            return cfg.total_steps(self.steps_per_epoch, self.world.size)
        return self.step + (cfg.epochs - self.epoch) * self.steps_per_epoch - self.batch_in_epoch

    # ---- the loop ----------------------------------------------------------------------
    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled image order of one epoch, a function of (seed, epoch) only."""
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.data), generator=rng)

    def train_batch(self, images: torch.Tensor, idx: torch.Tensor) -> None:
        """One step on ``images[idx]``: gather uint8, scale on the device, draw z, update D then G."""
        idx = distributed.rank_slice(idx, self.world)
        batch = images[idx.to(images.device)].to(self.device, non_blocking=True)
        real = to_unit_range(batch).contiguous(memory_format=self.memory_format)
        # every rank draws the global batch's z and keeps its rows: the generator stays the same on all ranks
        z = sample_noise(len(idx) * self.world.size, self.spec.nz, self.config.noise, self.noise_rng, self.device)
        z = distributed.rank_slice(z, self.world)
        labels = None if self.labels is None else self.labels[idx.to(self.device)]
        nets = (self._G_step, self._D_step, self.opt_g, self.opt_d)
        stats = train_step(*nets, real, z, self.precision, labels, self._D_for_g, augment=self.augment)
        self._pending.append(stats)
        self.step += 1
        if self.average is not None:
            self.average.update(self.step * self.global_batch, self.global_batch)
        if self.augment:
            self.augment.observe(stats[STAT_NAMES.index("d_x_sign")], self.step)

    def fit(self) -> Trainer:
        """Train until ``total_steps`` steps are done (``--steps``, ``--kimg`` or ``--epochs``); returns self."""
        cfg = self.config
        if self.world.is_main:
            self.run.prepare()
            self.run.root.mkdir(parents=True, exist_ok=True)
            self.run.drop_metrics_after(self.step)  # lines a crash logged after the checkpoint (or before any)
            self.run.remove_partial_writes()
            cfg.save(self.run.config)
            processes = f" ({self.world.size} processes)" if self.world.distributed else ""
            print(f"training in {self.run.root}{processes}", flush=True)
        images = self._place_images()
        self.G.train()
        self.D.train()
        self._last_save = monotonic()
        self._notify("on_start")
        with self._graceful_interrupt(), self._progress_bar(), self._peers_watched():
            while not self._should_stop():
                if self.batch_in_epoch == self.steps_per_epoch:
                    self._end_epoch()
                    continue
                if self.step >= self.total_steps:
                    break
                self.train_batch(images, self._next_batch())
                self._after_step()
                self._notify("on_step")
        if self._should_stop():
            self._stop()
        if self.batch_in_epoch:  # a --steps/--kimg length that ends inside an epoch
            self._flush_metrics()
            if self.world.is_main:
                self.save()
        if self.world.is_main:
            self._save_samples(self.run.final_samples)
        self._notify("on_end")
        return self

    def _should_stop(self) -> bool:
        return self._stopping if self.world.distributed else self._stop_requested

    def _notify(self, hook: str, *args) -> None:
        if not self.world.is_main:  # callbacks write files: rank 0's job
            return
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def _next_batch(self) -> torch.Tensor:
        """Image indices of the current epoch's next batch."""
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, self.epoch_order(self.epoch))
        start = self.batch_in_epoch * self.global_batch
        return self._order[1][start : start + self.global_batch]

    def _after_step(self) -> None:
        """Progress, then logging and the timed save when they are due."""
        self.batch_in_epoch += 1
        self._bar.update(self.global_batch)
        self._epoch_bar.update(1)
        if self.step % self.config.log_every == 0:
            self._show_losses(self._flush_metrics())
            if self.world.distributed:  # ranks stop together, after the same step: requests are shared here
                self._stopping = distributed.any_rank(self._stop_requested, self.world)
        elif monotonic() - self._bar_read_at >= BAR_LOSSES_SECONDS:
            # between flushes, the bar reads only the last step's losses, at most once a second: one host
            # sync a second instead of one a step, so losses move in the bar without slowing a GPU run
            self._show_losses(dict(zip(STAT_NAMES, self._pending[-1].tolist(), strict=True)))
        if self._save_due() and self.batch_in_epoch < self.steps_per_epoch:  # an epoch's end saves anyway
            self._flush_metrics()  # every step up to the checkpoint must be on disk before it
            self.save()
            self._last_save = monotonic()

    def _show_losses(self, last: dict) -> None:
        self._bar_read_at = monotonic()
        losses = {
            "loss_d": f"{last['loss_d']:.3f}",
            "loss_g": f"{last['loss_g']:.3f}",
            "D(G(z))": f"{last['d_g_z']:.2g}",
        }
        self._bar.set_postfix(step=self.step, **losses, **self._notes)

    def note(self, key: str, text: str | None) -> None:
        """Show (or with None, clear) a short note in the progress bar, e.g. a health warning."""
        if text is None:
            self._notes.pop(key, None)
        else:
            self._notes[key] = text

    def overview(self) -> list[str]:
        """What this process will do, for printing before it starts: length, a hint if short, precision."""
        lines = [describe_length(self.total_steps, self.steps_per_epoch, self.global_batch)]
        if self.step:
            lines[0] += f", resuming at step {self.step:,}"
        hint = short_run_hint(self.total_steps, self.steps_per_epoch, self.global_batch)
        lines += [f"hint: {hint}"] if hint else []
        return [*lines, f"precision: {self.precision_reason}"]

    def _save_due(self) -> bool:
        minutes = self.config.save_every_minutes
        return self.world.is_main and bool(minutes) and monotonic() - self._last_save >= 60 * minutes

    def _end_epoch(self) -> None:
        """What the paper shows after every epoch: samples of the fixed noise; plus the loss plot and a checkpoint."""
        self._flush_metrics()
        self.epoch += 1
        self.batch_in_epoch = 0
        if self.world.is_main:
            self._save_samples(self.run.epoch_samples(self.epoch))
            self.save()
            if self.config.checkpoint_every and self.epoch % self.config.checkpoint_every == 0:
                self.save(self.run.epoch_checkpoint(self.epoch).name)
        self._last_save = monotonic()
        if self.step < self.total_steps:  # the last epoch's bar stays full
            self._epoch_bar.reset()
            self._epoch_bar.set_description(self._epoch_label())
        self._notify("on_epoch_end")

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

    def _stop(self) -> NoReturn:
        """After Ctrl-C or SIGTERM: checkpoint what the finished steps learned, then say how to go on."""
        self._flush_metrics()
        if self.world.is_main:
            self.save()
        self._notify("on_end")
        raise KeyboardInterrupt(f"stopped at step {self.step}; resume with: {resume_command(self.run.root)}")

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

    # ---- surroundings --------------------------------------------------------------------
    def _epoch_label(self) -> str:
        epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        return f"epoch {min(self.epoch + 1, epochs)}/{epochs}"

    @contextmanager
    def _progress_bar(self):
        """Two bars: the whole run (images seen, its ETA, the losses) and, below it, the current epoch's steps."""
        cfg = self.config
        total = self.total_steps * self.global_batch
        shown = cfg.progress and self.world.is_main
        self._bar = progress_bar(total, "run", shown, initial=self.step * self.global_batch)
        self._epoch_bar = progress_bar(
            self.steps_per_epoch, self._epoch_label(), shown, unit="step", initial=self.batch_in_epoch
        )
        try:
            yield self._bar
        finally:
            self._epoch_bar.close()
            self._bar.close()

    @contextmanager
    def _graceful_interrupt(self):
        """First Ctrl-C or SIGTERM (what schedulers and torchrun send): finish the step, checkpoint, stop.
        A second one stops at once (the last checkpoint stays intact)."""

        def request_stop(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        with handling((signal.SIGINT, signal.SIGTERM), request_stop):
            yield

    @contextmanager
    def _peers_watched(self):
        """Under torchrun, a rank that died surfaces here as the next collective's error: one line, not gloo's traceback."""
        try:
            yield
        except RuntimeError as exc:
            reason = distributed.lost_peer_reason(exc) if self.world.distributed else None
            if reason is None:
                raise
            raise DCGANError(
                f"rank {self.world.rank} lost another process of the job at step {self.step + 1} ({reason})",
                f"the last checkpoint is intact: once every rank can run, resume with {resume_command(self.run.root)}",
            ) from None

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
