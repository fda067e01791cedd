"""Full-state checkpoints: every tensor in one safetensors file, metadata in its header.

A checkpoint holds G and D (weights and BatchNorm statistics), with ``--ema`` the averaged G, both Adam states, the
fixed sampling noise, RNG states, the run's config and its progress. Putting the metadata
in the safetensors header keeps a checkpoint one file, so one atomic rename (write a
temporary file, fsync, rename, fsync the folder) publishes it whole: a crash or Ctrl-C
leaves either the previous checkpoint or the new one, never a broken mix. A JSON copy of
the metadata is written beside it for people and scripts. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import DCGANError
from . import legacy
from .models import Discriminator, Generator, ModelSpec
from .rundir import RunDir
from .sampling import NOISE_KINDS
from .tensorfile import atomic_write, load_tensors, save_tensors

FORMAT = "dcgan-checkpoint-1"
NOT_A_CHECKPOINT = ("is not a dcgan checkpoint", "pass a file written by 'dcgan train'")  # (problem, fix)
AVERAGE = "G_ema"  # the averaged generator's prefix, in checkpoints that have one
GENERATORS = ("auto", "ema", "raw")  # what --generator takes: 'auto' is the average when the run kept one


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    state = opt.state_dict()
    scalars = {}
    for idx, entries in state["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    meta[prefix] = {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(prefix: str, tensors: dict, meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta[prefix]["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": meta[prefix]["param_groups"]}


def save_checkpoint(
    path: Path,
    G: Generator,
    D: Discriminator,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    extra_tensors: dict[str, torch.Tensor],
    meta: dict,
    G_ema: Generator | None = None,
) -> None:
    """Write a full training state; ``meta`` holds config and progress (JSON-able); ``G_ema``: the averaged G."""
    nets = {"G": G, "D": D} | ({AVERAGE: G_ema} if G_ema is not None else {})
    tensors = {f"{name}.{k}": v for name, net in nets.items() for k, v in net.state_dict().items()}
    tensors |= extra_tensors
    meta = {"format": FORMAT, "model": G.spec.to_dict(), **meta}
    _flatten_optimizer("opt_g", opt_g, tensors, meta)
    _flatten_optimizer("opt_d", opt_d, tensors, meta)
    save_tensors(path, tensors, meta)
    atomic_write(path.with_suffix(".json"), (json.dumps(meta, indent=2) + "\n").encode())


@dataclass
class Checkpoint:
    """A loaded checkpoint: its tensors (on CPU) and its metadata."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec(**self.meta["model"])

    def part(self, prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) + 1 :]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}

    def load_model(self, prefix: str, model: nn.Module) -> None:
        """Load G or D weights, with a readable error when the architectures differ."""
        if self.spec != model.spec:
            raise DCGANError(
                f"checkpoint {self.path} holds a different architecture: {self.spec.to_dict()}, "
                f"but the model here is {model.spec.to_dict()}",
                "build the model from the checkpoint (load_generator) or pass matching options",
            )
        try:
            model.load_state_dict(self.part(prefix))
        except RuntimeError as exc:
            raise DCGANError(
                f"checkpoint {self.path} does not fit the {prefix} network: {exc}".splitlines()[0]
            ) from None

    @property
    def class_names(self) -> list[str]:
        """The classes a conditional run's labels stand for, in label order (empty for an unconditional run)."""
        return self.meta.get("class_names", [])

    @property
    def noise(self) -> str:
        """The z distribution the run trained with: 'normal' or 'uniform'."""
        return self.meta["config"]["noise"]

    def network(self, prefix: str) -> Generator | Discriminator:
        """G, its average or D ("G"/"G_ema"/"D") rebuilt from the checkpoint's own architecture, weights loaded,
        in eval mode.

        The weights come back channels_last (NHWC), whatever layout the run trained in: sampling
        is faster that way on CPU (docs/benchmarks.md), and any input layout works.
        """
        net = Discriminator(self.spec) if prefix == "D" else Generator(self.spec)
        self.load_model(prefix, net)
        return net.to(memory_format=torch.channels_last).eval()

    @property
    def has_average(self) -> bool:
        """Whether the run kept an averaged G (``--ema``) beside the raw one (its config says; the header suffices)."""
        return bool(self.meta.get("config", {}).get("ema"))

    def generator_name(self, which: str = "auto") -> str:
        """The checkpoint's G that ``which`` means: "G_ema" for 'ema', or for 'auto' when the run kept an
        average; "G" for 'raw', or for 'auto' without one."""
        if which not in GENERATORS:
            raise DCGANError(f"unknown generator {which!r}", f"choose one of {', '.join(GENERATORS)}")
        if which == "ema" and not self.has_average:
            raise DCGANError(
                f"checkpoint {self.path} holds no averaged generator", "train with --ema, or use --generator raw"
            )
        return AVERAGE if which == "ema" or (which == "auto" and self.has_average) else "G"

    def generator(self, which: str = "auto") -> Generator:
        """The G that ``which`` names (see :meth:`generator_name`), in eval mode."""
        return self.network(self.generator_name(which))

    def load_optimizer(self, prefix: str, opt: torch.optim.Optimizer) -> None:
        try:
            opt.load_state_dict(_unflatten_optimizer(prefix, self.tensors, self.meta))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise DCGANError(
                f"checkpoint {self.path} holds a damaged {prefix} state ({type(exc).__name__}: {exc})",
                "use another checkpoint of the run (checkpoints/epoch_NNNN.safetensors)",
            ) from None


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file, or a run folder whose ``checkpoints/last.safetensors`` is meant."""
    path = Path(path).expanduser()
    if path.is_dir():
        candidate = RunDir(path).last_checkpoint
        if not candidate.is_file():
            raise DCGANError(
                f"{path} holds no checkpoint ({candidate} is missing)",
                "pass a run folder that has trained at least one epoch, or a .safetensors file",
            )
        return candidate
    if not path.is_file():
        raise DCGANError(f"checkpoint {path} does not exist", "pass a .safetensors checkpoint or a run folder")
    return path


# what every reader relies on: a file with the right format tag but without these is damaged
REQUIRED_META = {"model": dict, "config": dict, "epoch": int, "batch_in_epoch": int, "step": int, "num_images": int}
REQUIRED_META |= {"opt_g": dict, "opt_d": dict}
REQUIRED_TENSORS = ("rng.noise", "fixed_noise")


def check_complete(path: Path, tensors: dict, meta: dict) -> None:
    """One clear error naming the file for a checkpoint that lacks what training, sampling or info read."""
    missing = [key for key, kind in REQUIRED_META.items() if not isinstance(meta.get(key), kind)]
    missing += [name for name in REQUIRED_TENSORS if name not in tensors]
    if not missing and meta["config"].get("noise") not in NOISE_KINDS:
        missing.append("config.noise")
    if not missing:
        try:
            ModelSpec(**meta["model"])
        except (TypeError, DCGANError):
            missing.append("model")
    if missing:
        raise DCGANError(
            f"checkpoint {path} is damaged: {', '.join(missing)} missing or invalid",
            "use another checkpoint of the run (checkpoints/epoch_NNNN.safetensors), or start a new run",
        )


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A dcgan checkpoint, or a pytorch/examples ``.pt``/``.pth`` network (its weights only, no pickle run)."""
    path = resolve_checkpoint_path(path)
    if path.suffix.lower() in legacy.SUFFIXES:
        return Checkpoint(path, *legacy.load_legacy(path))
    tensors, meta = load_tensors(path, *NOT_A_CHECKPOINT, fmt=FORMAT)
    check_complete(path, tensors, meta)
    return Checkpoint(path, tensors, meta)


def checkpoint_meta(path: str | Path) -> dict:
    """A dcgan checkpoint's metadata, read from its header without its tensors (for listings and progress)."""
    return load_tensors(path, *NOT_A_CHECKPOINT, fmt=FORMAT, names=())[1]


def load_generator(path: str | Path, device: str | torch.device = "cpu", which: str = "auto") -> Generator:
    """A trained generator, in eval mode, from a checkpoint file or run folder: the averaged one where the run
    kept it (``which='raw'``: the last iterate the game trained)."""
    return load_checkpoint(path).generator(which).to(device)
