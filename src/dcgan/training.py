"""Adversarial training as in the paper (section 4), with exact resume.

One step, the whole algorithm:

1. D sees a real batch and a fake batch in *separate* forward passes (so BatchNorm never
   mixes their statistics) and descends ``-log D(x) - log(1 - D(G(z)))``;
2. G descends the non-saturating ``-log D(G(z))`` through the updated D (whose weights are
   frozen for that pass: their gradients would be discarded).

Both use Adam(lr 2e-4, beta1 0.5); images are scaled to [-1, 1] and nothing else. The
losses are written with ``softplus`` on D's logits, the numerically stable form of the
sigmoid + cross-entropy above. Step statistics stay on the device and are read only every
``log_every`` steps, so the loop never waits on the host.
"""

from __future__ import annotations

import ctypes
import json
import platform
import signal
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from time import monotonic

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Adam
from tqdm import tqdm

from .checkpoints import LAST, Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import ImageData, load_training_data
from .errors import DCGANError
from .models import Discriminator, Generator
from .plots import plot_losses
from .sampling import generate, sample_noise, save_grid

STAT_NAMES = ("loss_d", "loss_g", "d_x", "d_g_z")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' prefers CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DCGANError(f"unknown device {name!r}", "use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DCGANError("--device cuda was asked for but no CUDA GPU is available", "use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DCGANError("--device mps was asked for but MPS is not available", "use --device cpu or auto")
    return device


def to_unit_range(batch: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the paper's only preprocessing."""
    return batch.float().div_(127.5).sub_(1.0)


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the kernel (process-wide).

    glibc serves every block of 32 MiB or more (a 64x64 batch's first activation is exactly
    32 MiB) with a fresh mmap and unmaps it on free, so a training loop that frees and
    reallocates the same activations every step page-faults them all in again each step: 2-7% of
    a 64x64 CPU step here (docs/benchmarks.md). Serving them from a heap that is never trimmed
    keeps those pages. Nothing happens on other C libraries.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(None)
    m_trim_threshold, m_mmap_max = -1, -4  # from glibc's malloc.h
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


class Precision:
    """Autocast for bf16/fp16 and, for fp16, one gradient scaler per network; nothing for fp32.

    bf16 keeps fp32's exponent range, so it needs no loss scaling; fp16 does, and is only
    offered on CUDA, where it is fast. Weights and optimizer states stay fp32 in every mode.
    """

    def __init__(self, precision: str, device: torch.device):
        if precision == "fp16" and device.type != "cuda":
            raise DCGANError("--precision fp16 needs a CUDA GPU", "use --precision bf16 on CPU (or fp32)")
        self.enabled = precision != "fp32"
        self.dtype = torch.float16 if precision == "fp16" else torch.bfloat16
        self.device_type = device.type
        self.scalers = {}
        if precision == "fp16":
            self.scalers = {"D": torch.amp.GradScaler("cuda"), "G": torch.amp.GradScaler("cuda")}

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.enabled)

    def minimize(self, loss: torch.Tensor, opt: torch.optim.Optimizer, net: str) -> None:
        scaler = self.scalers.get(net)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()


FP32 = Precision("fp32", torch.device("cpu"))


def train_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
    precision: Precision = FP32,
) -> torch.Tensor:
    """One D update and one G update; returns (loss_d, loss_g, D(x), D(G(z))) on the device."""
    opt_d.zero_grad(set_to_none=True)
    with precision.autocast():
        logits_real = D(real).float()
        fake = G(z)
        logits_fake = D(fake.detach()).float()
        loss_d = F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()
    precision.minimize(loss_d, opt_d, "D")

    opt_g.zero_grad(set_to_none=True)
    # G's update needs only the gradient flowing through D to the fake images; the reference
    # also computes D's weight gradients here and discards them. Skipping them changes no
    # weight and saves about 10% of a step (docs/benchmarks.md).
    trainable = [p for p in D.parameters() if p.requires_grad]  # a caller may have frozen some on purpose
    for p in trainable:
        p.requires_grad_(False)
    try:
        with precision.autocast():
            loss_g = F.softplus(-D(fake).float()).mean()  # non-saturating: -log D(G(z))
        precision.minimize(loss_g, opt_g, "G")
    finally:
        for p in trainable:
            p.requires_grad_(True)
    return torch.stack([loss_d, loss_g, logits_real.sigmoid().mean(), logits_fake.sigmoid().mean()]).detach()


def make_optimizers(G: nn.Module, D: nn.Module, config: TrainConfig, device: torch.device) -> tuple[Adam, Adam]:
    """Adam with the paper's settings; the fused kernel on CUDA, the multi-tensor one elsewhere."""
    kwargs = {"lr": config.lr, "betas": (config.beta1, config.beta2)}
    kwargs |= {"fused": True} if device.type == "cuda" else {"foreach": True}
    return Adam(G.parameters(), **kwargs), Adam(D.parameters(), **kwargs)


class Trainer:
    """Owns one run: its networks, optimizers, RNGs, progress and run folder.

    All randomness comes from ``config.seed``: initialisation from the global torch RNG,
    the data order of epoch ``e`` from a generator seeded by (seed, e), z from a generator
    whose state is checkpointed. A run resumed from any checkpoint therefore continues
    exactly as if it had never stopped.
    """

    def __init__(self, config: TrainConfig, data: ImageData, run_dir: Path, checkpoint: Checkpoint | None = None):
        self.config = replace(config, resolution=data.resolution, channels=data.channels)
        self.data = data
        self.run_dir = Path(run_dir)
        self.device = pick_device(config.device)
        self.spec = self.config.model_spec()
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
        self._pending: list[torch.Tensor] = []
        self._stop_requested = False
        if checkpoint is not None:
            self._restore(checkpoint)

    # ---- state -------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    def save(self, name: str = LAST) -> Path:
        path = self.checkpoint_dir / name
        rng = {"rng.noise": self.noise_rng.get_state(), "fixed_noise": self.fixed_noise}
        meta = {
            "config": self.config.to_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "num_images": len(self.data),
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
        self._truncate_metrics()

    def _truncate_metrics(self) -> None:
        """Drop metric lines written after the checkpoint (a crash between checkpoints)."""
        if self.metrics_path.exists():
            lines = [
                ln
                for ln in self.metrics_path.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] <= self.step
            ]
            self.metrics_path.write_text("".join(ln + "\n" for ln in lines))

    # ---- loop --------------------------------------------------------------------------
    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The shuffled image order of one epoch, a function of (seed, epoch) only."""
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.data), generator=rng)

    def _flush_metrics(self) -> dict | None:
        if not self._pending:
            return None
        values = torch.stack(self._pending).tolist()  # the only host sync of the loop
        first = self.step - len(values) + 1
        rows = [
            {"step": first + i, "epoch": self.epoch + 1, **dict(zip(STAT_NAMES, v, strict=False))}
            for i, v in enumerate(values)
        ]
        with self.metrics_path.open("a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        self._pending.clear()
        return rows[-1]

    def _end_of_epoch(self) -> None:
        samples = generate(self.G, self.fixed_noise)
        save_grid(samples, self.run_dir / "samples" / f"epoch_{self.epoch:04d}.png")
        plot_losses(self.metrics_path, self.run_dir / "loss.png")
        self.save()
        if self.config.checkpoint_every and self.epoch % self.config.checkpoint_every == 0:
            self.save(f"epoch_{self.epoch:04d}.safetensors")

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

    def train_batch(self, images: torch.Tensor, idx: torch.Tensor) -> None:
        """One step on ``images[idx]``: gather uint8, scale on the device, draw z, update D then G."""
        batch = images[idx.to(images.device)].to(self.device, non_blocking=True)
        real = to_unit_range(batch).contiguous(memory_format=self.memory_format)
        z = sample_noise(len(idx), self.spec.nz, self.config.noise, self.noise_rng, self.device)
        self._pending.append(train_step(self._G_step, self._D_step, self.opt_g, self.opt_d, real, z, self.precision))
        self.step += 1

    def fit(self) -> Trainer:
        """Train until ``config.epochs`` epochs are complete; returns self."""
        cfg = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cfg.save(self.run_dir / "config.json")
        images = self._place_images()
        total = cfg.epochs * self.steps_per_epoch * cfg.batch_size
        done = self.step * cfg.batch_size
        bar = tqdm(total=total, initial=done, unit="img", unit_scale=True, disable=not cfg.progress, dynamic_ncols=True)
        self.G.train()
        self.D.train()
        last_save = monotonic()
        with self._graceful_interrupt():
            while self.epoch < cfg.epochs and not self._stop_requested:
                order = self.epoch_order(self.epoch)
                bar.set_description(f"epoch {self.epoch + 1}/{cfg.epochs}")
                for b in range(self.batch_in_epoch, self.steps_per_epoch):
                    self.train_batch(images, order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
                    self.batch_in_epoch = b + 1
                    bar.update(cfg.batch_size)
                    if self.step % cfg.log_every == 0:
                        last = self._flush_metrics()
                        bar.set_postfix(step=self.step, loss_d=f"{last['loss_d']:.3f}", loss_g=f"{last['loss_g']:.3f}")
                    due = cfg.save_every_minutes and monotonic() - last_save >= 60 * cfg.save_every_minutes
                    if due and b + 1 < self.steps_per_epoch:  # the epoch's own save follows at its end
                        self._flush_metrics()  # every step up to the checkpoint must be on disk before it
                        self.save()
                        last_save = monotonic()
                    if self._stop_requested:
                        break
                else:
                    self._flush_metrics()
                    self.epoch += 1
                    self.batch_in_epoch = 0
                    self._end_of_epoch()
                    last_save = monotonic()
        bar.close()
        if self._stop_requested:
            self._flush_metrics()
            self.save()
            raise KeyboardInterrupt(f"stopped at step {self.step}; resume with: dcgan train --resume {self.run_dir}")
        save_grid(generate(self.G, self.fixed_noise), self.run_dir / "samples" / "final.png")
        return self


def default_run_dir() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def train(config: TrainConfig, data: ImageData | None = None) -> Trainer:
    """Train a DCGAN from scratch; ``data`` defaults to ``load_dataset(config.data, ...)``."""
    if config.out is not None and (Path(config.out) / "checkpoints" / LAST).exists():
        raise DCGANError(
            f"{config.out} already holds a run", f"continue it with --resume {config.out}, or choose another --out"
        )
    if data is None:
        data = load_training_data(config)
        if data.skipped:
            print(f"skipped {data.skipped} unreadable image files")
    run_dir = Path(config.out) if config.out else default_run_dir()
    return Trainer(config.updated(out=str(run_dir)), data, run_dir).fit()


# Options that do not change what is learned (epochs only extends the run), so a resumed run may change them.
RESUMABLE = frozenset(
    {"epochs", "device", "progress", "precision", "channels_last", "compile", "save_every_minutes", "log_every"}
    | {"keep_freed_memory"}
)


def resume(run_dir: str | Path, data: ImageData | None = None, **changes) -> Trainer:
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
    trainer = Trainer(config, data, run_dir, checkpoint=ckpt)
    if trainer.epoch >= config.epochs:
        raise DCGANError(
            f"{run_dir} has already trained {trainer.epoch} of {config.epochs} epochs",
            "pass a larger --epochs to continue it",
        )
    return trainer.fit()
