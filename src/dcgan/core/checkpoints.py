"""Full-state checkpoints: every tensor in one safetensors file, metadata in its header.

A checkpoint holds G and D (weights and BatchNorm statistics), with ``--ema`` the averaged G, both Adam states, the
fixed sampling noise, RNG states, the run's config and its progress. Putting the metadata
in the safetensors header keeps a checkpoint one file, so one atomic rename (write a
temporary file, fsync, rename, fsync the folder) publishes it whole: a crash or Ctrl-C
leaves either the previous checkpoint or the new one, never a broken mix. A JSON copy of
the metadata is written beside it for people and scripts. Nothing is ever unpickled.

A generator-only file (``dcgan export --format safetensors``) is the same container holding one G,
fp32 or fp16, and a header that says what it is; it loads wherever a checkpoint is read for its G,
and a reader that needs more (D, the training state) gets one line naming the file and the fix.
Models shipped inside the package (``--pretrained NAME``) are such files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
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
GENERATOR_FORMAT = "dcgan-generator-1"  # a generator-only file
NOT_A_CHECKPOINT = (  # (problem, fix)
    "is not a dcgan checkpoint",
    "pass a file written by 'dcgan train' or 'dcgan export --format safetensors'",
)
AVERAGE = "G_ema"  # the averaged generator's prefix, in checkpoints that have one
GENERATORS = ("auto", "ema", "raw")  # what --generator takes: 'auto' is the average when the run kept one
NETWORK_NAMES = {"G": "the raw generator", AVERAGE: "the averaged generator (--ema)", "D": "the discriminator"}
FULL_CHECKPOINT = "the run's full checkpoint (its run folder, or RUN/checkpoints/last.safetensors)"
PRETRAINED = Path(str(resources.files("dcgan") / "assets" / "pretrained"))  # --pretrained NAME: NAME.safetensors


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


DTYPES = {"fp32": torch.float32, "fp16": torch.float16}  # what a generator-only file's weights may be stored as


def save_generator(path: str | Path, G: Generator, name: str, about: dict, dtype: str = "fp32") -> Path:
    """Write ``G`` alone as a generator-only file: its weights (floating ones as ``dtype``; fp16 halves the file)
    under ``name`` ("G" or "G_ema": which of the run's generators it is), ``about`` (what the header says of it)."""
    if dtype not in DTYPES:
        raise DCGANError(f"unknown dtype {dtype!r}", f"choose one of {', '.join(DTYPES)}")
    cast = DTYPES[dtype]
    tensors = {f"{name}.{k}": v.to(cast) if v.is_floating_point() else v for k, v in G.state_dict().items()}
    meta = {"format": GENERATOR_FORMAT, "model": G.spec.to_dict(), "networks": [name], "dtype": dtype, **about}
    return save_tensors(path, tensors, meta)


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
        """Load G or D weights (fp16 ones as the model's fp32), with a readable error when the file does not hold
        that network or the architectures differ."""
        if prefix not in self.networks:
            raise self.missing(prefix)
        if self.spec != model.spec:
            raise DCGANError(
                f"checkpoint {self.path} holds a different architecture: {self.spec.to_dict()}, "
                f"but the model here is {model.spec.to_dict()}",
                "build the model from the checkpoint (load_generator) or pass matching options",
            )
        try:
            model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in self.part(prefix).items()})
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
        return self.meta["noise"] if self.generator_only else self.meta["config"]["noise"]

    @property
    def generator_only(self) -> bool:
        """Whether this is a generator-only file (``dcgan export --format safetensors``), not a training state."""
        return self.meta.get("format") == GENERATOR_FORMAT

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks the file holds: a checkpoint G and D (with ``--ema`` the averaged G too); a generator-only
        or pytorch/examples file the one it was written with."""
        if "networks" in self.meta:
            return tuple(self.meta["networks"])
        return ("G", "D", AVERAGE) if self.meta.get("config", {}).get("ema") else ("G", "D")

    def missing(self, prefix: str) -> DCGANError:
        """The one-line error for a network the file does not hold: what it holds, and where the missing one is."""
        if prefix == AVERAGE and not self.generator_only:
            return DCGANError(
                f"checkpoint {self.path} holds no averaged generator", "train with --ema, or use --generator raw"
            )
        held = " and ".join(NETWORK_NAMES[name] for name in self.networks)
        if not self.generator_only:  # a pytorch/examples netG or netD file
            return DCGANError(
                f"{self.path} holds {held} only, not {NETWORK_NAMES[prefix]}", "pass the file of that network"
            )
        fix = f"use {FULL_CHECKPOINT}"
        if prefix != "D":
            held_as = "raw" if "G" in self.networks else "ema"
            fix = f"use --generator {held_as}, or export {NETWORK_NAMES[prefix]} from {FULL_CHECKPOINT}"
        return DCGANError(f"{self.path} is a generator-only file: it holds {held}, not {NETWORK_NAMES[prefix]}", fix)

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
        """Whether the file holds an averaged G (a run's ``--ema``; its config says, the header suffices)."""
        return AVERAGE in self.networks

    def generator_name(self, which: str = "auto") -> str:
        """The file's G that ``which`` means: "G_ema" for 'ema', or for 'auto' when the file holds an average;
        "G" for 'raw', or for 'auto' without one."""
        if which not in GENERATORS:
            raise DCGANError(f"unknown generator {which!r}", f"choose one of {', '.join(GENERATORS)}")
        name = AVERAGE if which == "ema" or (which == "auto" and self.has_average) else "G"
        if which != "auto" and name not in self.networks:
            raise self.missing(name)
        return name

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


def pretrained_names() -> list[str]:
    """The models shipped inside the package, by the name ``--pretrained`` takes."""
    return sorted(path.stem for path in PRETRAINED.glob("*.safetensors"))


def pretrained_path(name: str) -> Path:
    """The file of the shipped model ``name`` (``--pretrained NAME``); a name not shipped is refused when read."""
    return PRETRAINED / f"{name}.safetensors"


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint or generator-only file, a run folder whose ``checkpoints/last.safetensors`` is meant, or a
    model shipped in the package (:func:`pretrained_path`)."""
    path = Path(path).expanduser()
    if path.is_relative_to(PRETRAINED) and (path.parent != PRETRAINED or not path.is_file()):
        name = str(path.relative_to(PRETRAINED)).removesuffix(".safetensors")
        raise DCGANError(
            f"no pretrained model {name!r} in this install (it ships: {', '.join(pretrained_names()) or 'none yet'})",
            "pass --pretrained with a name it ships, or --checkpoint with a run folder, checkpoint or generator file",
        )
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
REQUIRED_GENERATOR_META = {"model": dict, "networks": list, "noise": str, "class_names": list}


def check_complete(path: Path, tensors: dict, meta: dict) -> None:
    """One clear error naming the file for a checkpoint (or generator-only file) that lacks what training,
    sampling or info read."""
    generator_only = meta.get("format") == GENERATOR_FORMAT
    required = REQUIRED_GENERATOR_META if generator_only else REQUIRED_META
    missing = [key for key, kind in required.items() if not isinstance(meta.get(key), kind)]
    missing += [] if generator_only else [name for name in REQUIRED_TENSORS if name not in tensors]
    if not missing and (meta["noise"] if generator_only else meta["config"].get("noise")) not in NOISE_KINDS:
        missing.append("noise" if generator_only else "config.noise")
    if not missing and generator_only and meta["networks"] not in (["G"], [AVERAGE]):
        missing.append("networks")
    if not missing:
        try:
            ModelSpec(**meta["model"])
        except (TypeError, DCGANError):
            missing.append("model")
    if missing:
        fix = "use another checkpoint of the run (checkpoints/epoch_NNNN.safetensors), or start a new run"
        if generator_only:
            fix = "export it again from the run's checkpoint (dcgan export --format safetensors)"
        raise DCGANError(f"checkpoint {path} is damaged: {', '.join(missing)} missing or invalid", fix)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A dcgan checkpoint, a generator-only file (G alone), or a pytorch/examples ``.pt``/``.pth`` network (its
    weights only, no pickle run)."""
    path = resolve_checkpoint_path(path)
    if path.suffix.lower() in legacy.SUFFIXES:
        return Checkpoint(path, *legacy.load_legacy(path))
    tensors, meta = load_tensors(path, *NOT_A_CHECKPOINT, fmt=(FORMAT, GENERATOR_FORMAT))
    check_complete(path, tensors, meta)
    return Checkpoint(path, tensors, meta)


def checkpoint_meta(path: str | Path) -> dict:
    """A dcgan checkpoint's (or generator-only file's) metadata, read from its header without its tensors (for
    listings and progress)."""
    return load_tensors(path, *NOT_A_CHECKPOINT, fmt=(FORMAT, GENERATOR_FORMAT), names=())[1]


def refuse_generator_only(path: str | Path, needs: str) -> None:
    """One clear line when ``path`` is a generator-only file, which lacks what ``needs`` (e.g. "resuming training")
    reads; any other file passes, to be checked by its reader."""
    try:
        generator_only = checkpoint_meta(path).get("format") == GENERATOR_FORMAT
    except DCGANError:
        return
    if generator_only:
        raise DCGANError(
            f"{path} is a generator-only file: {needs} needs the discriminator and more", f"use {FULL_CHECKPOINT}"
        )


def load_generator(path: str | Path, device: str | torch.device = "cpu", which: str = "auto") -> Generator:
    """A trained generator, in eval mode, from a checkpoint file or run folder: the averaged one where the run
    kept it (``which='raw'``: the last iterate the game trained)."""
    return load_checkpoint(path).generator(which).to(device)
