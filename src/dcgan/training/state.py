"""A run's state: what a checkpoint holds and a resume restores (:class:`TrainingState`), and where a run
stands with what follows from it (:class:`Position`).

One record for the state is one place that says what resuming exactly needs: the networks and their
optimizers, the averaged G, the random streams (z, the augmentation, the fixed sampling noise) and the
counters. The container is core/checkpoints.py; what goes into it is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.checkpoints import AVERAGE, Checkpoint, save_checkpoint
from ..core.models import Discriminator, Generator
from ..core.sampling import sample_noise
from . import distributed
from .augment import Augment, make_augment
from .averaging import GeneratorAverage
from .config import TrainConfig
from .step import make_optimizers


def steps_per_epoch(num_images: int, global_batch: int) -> int:
    """Full batches in an epoch: the last partial batch is dropped (BatchNorm wants full batches)."""
    return num_images // global_batch


@dataclass
class TrainingState:
    """Everything a run changes as it trains, so everything a resume restores."""

    G: Generator
    D: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    noise_rng: torch.Generator  # the z of every step
    fixed_noise: torch.Tensor  # the z of every sample grid
    average: GeneratorAverage | None = None  # --ema: the averaged G (training/averaging.py)
    augment: Augment | None = None  # --augment: its random stream, and ADA's p
    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # completed batches of the current epoch
    step: int = 0  # completed steps in all

    @classmethod
    def new(
        cls,
        config: TrainConfig,
        G: Generator,
        D: Discriminator,
        device: torch.device,
        world: distributed.World,
        global_batch: int,
    ) -> TrainingState:
        """A new run's state around its freshly initialised ``G`` and ``D``: every random stream seeded from
        ``config.seed`` (z with seed + 1, the fixed noise with seed + 2, the augmentation with seed + 3), the same
        on every rank."""
        opt_g, opt_d = make_optimizers(G, D, config, device)
        # the averaged G: a shadow of the raw one, never part of the game (training/averaging.py)
        average = GeneratorAverage(G, config.ema, config.ema_rampup, config.noise) if config.ema else None
        noise_rng = torch.Generator(device).manual_seed(config.seed + 1)
        augment = make_augment(config, device, world, global_batch)  # None: the paper
        fixed_rng = torch.Generator().manual_seed(config.seed + 2)
        fixed_noise = distributed.broadcast(
            sample_noise(config.sample_count, G.spec.nz, config.noise, fixed_rng), world
        )
        return cls(G, D, opt_g, opt_d, noise_rng, fixed_noise, average, augment)

    def to_checkpoint(self, path: Path, config: dict, about: dict, global_batch: int) -> None:
        """Write the state to ``path``; the metadata holds the run's ``config``, the counters, then ``about`` (what
        the run trains on and how). The averaged G is written as it samples (its BatchNorm statistics recomputed)."""
        streams = {"rng.noise": self.noise_rng.get_state(), "fixed_noise": self.fixed_noise}
        streams |= self.augment.state() if self.augment else {}
        counters = {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step}
        G_ema = self.average.calibrated(global_batch) if self.average else None
        save_checkpoint(
            path, self.G, self.D, self.opt_g, self.opt_d, streams, {"config": config, **counters, **about}, G_ema
        )

    def restore(self, ckpt: Checkpoint, world_size: int) -> None:
        """Load the state from ``ckpt`` (written by :meth:`to_checkpoint`) for a run of ``world_size`` processes."""
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
        self.epoch, self.step = ckpt.meta["epoch"], ckpt.meta["step"]
        # another world size: continue at the global batch that holds the next unseen image (exact when it divides)
        self.batch_in_epoch = ckpt.meta["batch_in_epoch"] * ckpt.meta.get("world_size", 1) // world_size


@dataclass(frozen=True)
class Position:
    """Where a run stands (a checkpoint's counters, or a running trainer's), and what follows from it."""

    epoch: int  # completed epochs
    batch_in_epoch: int  # completed batches of the current epoch
    step: int  # completed steps in all
    num_images: int  # the data's
    batch_size: int  # per process (--batch-size)
    world_size: int = 1  # processes (torchrun)

    @classmethod
    def of_checkpoint(cls, meta: dict) -> Position | None:
        """The position a checkpoint's metadata records; None for a file from elsewhere (pytorch/examples), or a
        generator-only file exported from one."""
        if meta.get("epoch") is None:
            return None
        counters = (meta["epoch"], meta["batch_in_epoch"], meta["step"], meta["num_images"])
        return cls(*counters, meta["config"]["batch_size"], meta.get("world_size", 1))

    @property
    def global_batch(self) -> int:
        """Images a step takes: --batch-size on each process."""
        return self.batch_size * self.world_size

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.num_images, self.global_batch)

    @property
    def images_seen(self) -> int:
        return self.step * self.global_batch

    def total_steps(self, config: TrainConfig) -> int:
        """The step a run of ``config`` ends at: --steps or --kimg, or else the end of epoch --epochs, counted from
        here (a run resumed with another number of processes has another number of steps per epoch)."""
        if config.steps is not None or config.kimg is not None:
            return config.total_steps(self.steps_per_epoch, self.world_size)
        return self.step + (config.epochs - self.epoch) * self.steps_per_epoch - self.batch_in_epoch

    def finished(self, config: TrainConfig) -> bool:
        """Whether a run of ``config`` has done all its steps here."""
        return self.step >= self.total_steps(config)

    def __str__(self) -> str:
        """As ``dcgan info`` says it: "epoch 2, step 12 of 33 (part-way)" inside epoch 2, "end of epoch 2" after it."""
        if self.batch_in_epoch:
            return f"epoch {self.epoch + 1}, step {self.batch_in_epoch} of {self.steps_per_epoch} (part-way)"
        return f"end of epoch {self.epoch}"
