"""The one configuration object of a training run.

Every option of ``dcgan train`` is a field here (the CLI builds its flags from these
fields and their ``help``; the data options come from :class:`~dcgan.data.SourceOptions`),
and the resolved config is written to the run folder's ``config.json``.
Defaults are the paper's recipe: minibatch 128, Adam(lr 2e-4, beta1 0.5), N(0, 0.02) init.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ..core.models import ModelSpec
from ..core.sampling import MAX_SEED, NOISE_KINDS
from ..core.tensorfile import atomic_write_json
from ..data import SourceOptions
from ..data.options import option
from ..errors import DCGANError
from ..metrics.evaluate import lower_is_better
from ..metrics.networks import BUNDLED_DOMAIN, parse_features
from .augment import AUGMENT_MODES, DEFAULT_POLICY, parse_policy

# Base widths of each preset; see ModelSpec.widths for how they grow with depth.
PRESETS: dict[str, dict[str, int]] = {
    "paper": {"nz": 100, "g_width": 128, "d_width": 128},  # G 1024-512-256-128 at 64x64 (figure 1)
    "small": {"nz": 100, "g_width": 64, "d_width": 64},  # G 512-256-128-64 at 64x64 (pytorch/examples)
}


PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Options that do not change what is learned (epochs only extends the run), so a resumed run may change them.
RESUMABLE = frozenset(
    {"epochs", "device", "progress", "precision", "channels_last", "compile", "save_every_minutes", "log_every"}
    | {"keep_freed_memory", "tensorboard", "kimg", "steps", "health"}
    | {"eval_every", "eval_every_minutes", "eval_features", "eval_metric", "eval_n", "eval_real"}  # only watch
)


def _data_option(name: str):
    """A data option of :class:`SourceOptions`, with its default and help as defined there (once)."""
    source = next(f for f in fields(SourceOptions) if f.name == name)
    return field(default=source.default, metadata=source.metadata)


@dataclass
class TrainConfig:
    """A training run: data, architecture, optimisation and bookkeeping."""

    data: str | None = option(
        None,
        "a dataset: image folder or .zip, MNIST/Fashion-MNIST IDX, CIFAR-10/100, SVHN .mat, CelebA, LSUN LMDB, a set"
        " from dcgan prepare, or a downloaded name such as cifar10 (default: the bundled MNIST sample)",
    )
    resolution: int | None = _data_option("resolution")
    channels: int | None = _data_option("channels")
    preset: str = option(
        "small",
        "architecture widths: 'small' (G 512-256-128-64 at 64px) or 'paper' (G 1024-512-256-128)",
        choices=tuple(PRESETS),
    )
    nz: int | None = option(None, "length of z (default: the preset's, 100)")
    g_width: int | None = option(None, "G's base width, doubled per layer up to 8x (default: the preset's)")
    d_width: int | None = option(None, "D's base width, doubled per layer up to 8x (default: the preset's)")
    epochs: int = option(5, "passes over the data (the paper shows samples after 1 and 5)")
    # how long, by images seen instead of passes (StyleGAN's kimg): a run's length independent of the set's size
    kimg: float | None = option(None, "train until this many thousand images were seen (instead of --epochs)")
    steps: int | None = option(None, "train for this many steps, batch_size images each (instead of --epochs)")
    batch_size: int = option(128, "minibatch size (the paper's 128)")
    lr: float = option(2e-4, "Adam learning rate (the paper's 0.0002)")
    beta1: float = option(0.5, "Adam beta1 (the paper's 0.5; 0.9 oscillates)")
    beta2: float = option(0.999, "Adam beta2")
    noise: str = option(
        "normal",
        "z distribution: 'normal' N(0,1) or 'uniform' U[-1,1] (the original code's)",
        choices=NOISE_KINDS,
    )
    seed: int = option(0, "seed for initialisation, data order and noise")
    limit: int | None = _data_option("limit")
    held_out: bool = _data_option("held_out")
    skip_bad: bool = _data_option("skip_bad")
    where: str | None = _data_option("where")
    split: str | None = _data_option("split")
    class_folder: str = _data_option("class_folder")
    cache: bool = option(
        True,
        "decode the data once into a prepared copy in $DCGAN_CACHE (default ~/.cache/dcgan) and memory-map it,"
        " so later runs on the same source and options skip decoding",
    )
    device: str = option("auto", "'auto' (cuda, then mps, then cpu), 'cpu', 'cuda', 'cuda:1', 'mps'")
    precision: str = option(
        "auto",
        "'auto' (CPU: bf16 only if a few timed steps at start-up show it faster here, else fp32; GPU: fp32); 'fp32';"
        " 'bf16' (autocast: GPUs and CPUs with bf16 support); 'fp16' (autocast + gradient scaling, GPU only)",
        choices=PRECISIONS,
    )
    channels_last: bool = option(True, "NHWC memory format (measured faster on CPU for fp32 and bf16; off: NCHW)")
    keep_freed_memory: bool = option(
        True,
        "CPU with glibc: keep freed memory for the next step instead of returning it to the OS (measured faster, see"
        " docs/benchmarks.md; process-wide, and the process keeps its peak memory until it exits)",
    )
    compile: bool = option(
        False, "torch.compile G and D (compiling costs tens of seconds at start; see docs/benchmarks.md)"
    )
    out: str | None = option(None, "run folder (default: runs/<timestamp>)")
    checkpoint_every: int = option(5, "also keep checkpoints/epoch_NNNN.safetensors every N epochs (0: only last)")
    save_every_minutes: float = option(
        10.0,
        "also update checkpoints/last.safetensors mid-epoch every N minutes, so a crash loses at most that (0: off)",
    )
    log_every: int = option(20, "read losses from the device and append them to metrics.jsonl every N steps")
    sample_count: int = option(64, "number of fixed-noise samples in each epoch's grid")
    progress: bool = option(True, "show a progress bar")
    tensorboard: bool = option(False, "also log metrics, sample grids and weight histograms to RUN/tensorboard")
    # distributed training and reliability (training/distributed.py, docs/scaling.md)
    sync_bn: bool = option(
        False,
        "under torchrun: BatchNorm statistics over all ranks' batches (SyncBatchNorm), so N ranks x --batch-size B"
        " train as one process with batch N x B; off: each replica's own B images",
    )
    # class-conditional DCGAN (the original code's MNIST model; the paper's appendix)
    conditional: bool = option(
        False,
        "class-conditional G and D: the one-hot label is appended to every block's input, so samples can be drawn"
        " for a chosen class (needs labelled data: MNIST, CIFAR, SVHN, class folders)",
    )
    # augmentation D sees on real and generated images (training/augment.py; docs/your-own-images.md)
    augment: str = option(
        "none",
        "'none' (the paper); 'diffaug': every transform of --augment-policy on every image D sees, real and fake"
        " (DiffAugment); 'ada': each with a probability p adapted to how sure D is of the real images (ADA)",
        choices=AUGMENT_MODES,
    )
    augment_policy: str = option(
        DEFAULT_POLICY,
        "the transforms, comma-separated, from color, translation, cutout and flip (flip only where mirror images"
        " are as plausible as the originals: photos, faces; not digits or text)",
    )
    ada_target: float = option(
        0.6, "--augment ada raises p while E[sign D(x)] over the real images is above this, lowers it below"
    )
    ada_kimg: float = option(
        100.0,
        "--augment ada moves p at most this fast: from 0 to 1 in this many thousand images (StyleGAN2-ADA: 500,"
        " for runs of tens of millions of images)",
    )
    # sample quality during training (metrics/, training/callbacks/evaluation.py): off unless an interval is set
    eval_every: int = option(0, "evaluate sample quality every N steps into metrics.jsonl (0: off)")
    eval_every_minutes: float = option(0.0, "also evaluate every N minutes of training (0: off)")
    eval_features: str | None = option(
        None,
        "feature network of the evaluations: domain:DIR (dcgan train-classifier), inception[:PATH], or"
        " discriminator:CHECKPOINT (a fixed D; the D being trained moves)",
    )
    eval_metric: str = option(
        "fid", "the value that picks checkpoints/best.safetensors", choices=("fid", "kid", "precision", "recall")
    )
    eval_n: int = option(2000, "generated and real images per evaluation")
    eval_real: str | None = option(None, "real images to compare with (default: the training data)")
    # an averaged G beside the raw one (training/averaging.py); D and G train exactly as without it
    ema: float = option(
        0.0,
        "also keep an exponential moving average of G's weights with this half-life in thousands of images (kimg,"
        " as StyleGAN's G_ema; e.g. 10); samples, evaluations and every command then use it unless told"
        " --generator raw (0: off, the paper's G only)",
    )
    ema_rampup: float = option(
        0.05, "while the run is young, the average's half-life is at most this share of the images seen (0: off)"
    )
    # watching the run (training/callbacks/health.py): warnings while it trains (a NaN/Inf loss stops it regardless)
    health: bool = option(True, "warn when D wins outright or the samples collapse")

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "log_every", "sample_count")
        for name in positive:
            if getattr(self, name) < 1:
                raise DCGANError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(self, name)}")
        if not math.isfinite(self.save_every_minutes):
            raise DCGANError(f"--save-every-minutes must be a finite number, not {self.save_every_minutes}")
        if not 0 <= self.seed <= MAX_SEED:
            raise DCGANError(f"--seed must be between 0 and {MAX_SEED}, not {self.seed}")
        for name in ("checkpoint_every", "save_every_minutes"):
            if getattr(self, name) < 0:
                raise DCGANError(f"--{name.replace('_', '-')} must be 0 or more, not {getattr(self, name)}")
        if self.kimg is not None and self.steps is not None:
            raise DCGANError("--kimg and --steps both set the run's length", "give one of them")
        if (self.kimg is not None and self.kimg <= 0) or (self.steps is not None and self.steps < 1):
            raise DCGANError("--kimg must be above 0 and --steps at least 1")
        if self.preset not in PRESETS:
            raise DCGANError(f"unknown preset {self.preset!r}", f"choose one of {', '.join(PRESETS)}")
        if self.precision not in PRECISIONS:
            raise DCGANError(f"unknown precision {self.precision!r}", f"choose one of {', '.join(PRECISIONS)}")
        if self.noise not in NOISE_KINDS:
            raise DCGANError(f"unknown noise {self.noise!r}", "choose 'normal' or 'uniform'")
        if not (self.lr > 0 and 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise DCGANError("Adam needs lr > 0 and betas in [0, 1)", "check --lr, --beta1 and --beta2")
        if self.ema < 0 or not 0 <= self.ema_rampup <= 1 or not math.isfinite(self.ema):
            raise DCGANError("--ema must be 0 (off) or a half-life in kimg, --ema-rampup between 0 and 1")
        self._check_evaluation()
        self._check_augmentation()
        if self.resolution is not None:
            ModelSpec(resolution=self.resolution)  # the networks' sizes, checked before any data is read
        self.source_options()  # and the other data options

    @property
    def evaluates(self) -> bool:
        return bool(self.eval_every or self.eval_every_minutes)

    def _check_evaluation(self) -> None:
        if self.eval_every < 0 or self.eval_every_minutes < 0 or self.eval_n < 4:
            raise DCGANError("--eval-every and --eval-every-minutes must be 0 or more, --eval-n at least 4")
        if not self.evaluates:
            return
        if self.eval_features is None and self.data is None:  # the bundled MNIST sample has a bundled judge
            self.eval_features = BUNDLED_DOMAIN
        if self.eval_features is None:
            raise DCGANError(
                "evaluating during training needs a feature network",
                "pass --eval-features domain:DIR (train one with dcgan train-classifier), inception,"
                " or discriminator:CHECKPOINT",
            )
        if parse_features(self.eval_features) == ("discriminator", None):
            raise DCGANError(
                "--eval-features discriminator would score each step with a different D",
                "name a fixed one: discriminator:CHECKPOINT",
            )
        lower_is_better(self.eval_metric)

    def _check_augmentation(self) -> None:
        if self.augment not in AUGMENT_MODES:
            raise DCGANError(f"unknown --augment {self.augment!r}", f"choose one of {', '.join(AUGMENT_MODES)}")
        parse_policy(self.augment_policy)
        if not (0 < self.ada_target < 1 and self.ada_kimg > 0):
            raise DCGANError(
                f"--ada-target must lie between 0 and 1 and --ada-kimg be above 0, not {self.ada_target} and"
                f" {self.ada_kimg}",
                "the defaults are 0.6 and 100",
            )

    def source_options(self) -> SourceOptions:
        """The data options of this run, as every data function takes them."""
        return SourceOptions(**{name: getattr(self, name) for name in SourceOptions.names()})

    def fitted_to(self, resolution: int, channels: int) -> TrainConfig:
        """This config with the data's resolution and channels filled in where it left them to the data.

        A config that names other values than the data has is refused: the networks would not fit it.
        """
        for name, actual in (("resolution", resolution), ("channels", channels)):
            wanted = getattr(self, name)
            if wanted is not None and wanted != actual:
                raise DCGANError(
                    f"the config asks for {name} {wanted}, but the data has {actual}",
                    f"load the data with {name} {wanted}, or leave {name} unset to take the data's",
                )
        return replace(self, resolution=resolution, channels=channels)

    def model_spec(self, num_classes: int = 0) -> ModelSpec:
        """The architecture this config asks for (needs resolution and channels resolved; a conditional
        run also the data's number of classes)."""
        if self.resolution is None or self.channels is None:
            raise ValueError("resolve resolution and channels from the data first")
        preset = PRESETS[self.preset]
        return ModelSpec(
            resolution=self.resolution,
            channels=self.channels,
            nz=self.nz or preset["nz"],
            g_width=self.g_width or preset["g_width"],
            d_width=self.d_width or preset["d_width"],
            num_classes=num_classes,
        )

    def total_steps(self, steps_per_epoch: int, ranks: int = 1) -> int:
        """The run's length in steps: --steps, --kimg thousand images rounded up to whole batches, or --epochs.

        Under torchrun a step takes ``ranks`` x --batch-size images (--batch-size is per replica)."""
        if self.steps is not None:
            return self.steps
        if self.kimg is not None:
            return math.ceil(self.kimg * 1000 / (self.batch_size * ranks))
        return self.epochs * steps_per_epoch

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DCGANError(f"unknown config keys: {', '.join(unknown)}", "was this written by a newer dcgan?")
        return cls(**values)

    def save(self, path: Path) -> None:
        """Write the run's ``config.json`` (atomically); ``options_file.config_from`` is its one reader."""
        atomic_write_json(path, self.to_dict())

    def updated(self, **changes) -> TrainConfig:
        return replace(self, **changes)
