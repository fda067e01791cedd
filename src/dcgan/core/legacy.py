"""Reading a pytorch/examples DCGAN file (``netG_epoch_24.pth``, ``netD_epoch_24.pth``) without running its pickle.

Those files are a pickled ``state_dict`` of ``main.0.weight``, ``main.1.running_mean``... in
layer order: the same layers, in the same order and shapes, as our networks. They are read
with ``torch.load(weights_only=True)``, whose unpickler builds tensors and plain containers
only and refuses anything else (a pickle that would run code is an error, never run), and
their entries are matched to ours by position, every shape checked.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import torch

from ..errors import DCGANError
from .models import Discriminator, Generator, ModelSpec

SUFFIXES = (".pt", ".pth")
FORMAT = "pytorch-examples"


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.pt``/``.pth`` file, unpickled with ``weights_only=True``; anything more is refused."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        AttributeError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        struct.error,
    ) as exc:  # what torch's restricted unpickler raises on damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DCGANError(
            f"{path} cannot be read as plain weights ({first[:200]})",
            "dcgan loads .pt/.pth files only when they hold tensors alone (torch.load(weights_only=True)); "
            "a file that needs more could run code, so it is refused: save its state_dict() instead",
        ) from None
    if isinstance(state, dict) and len(state) == 1 and isinstance(next(iter(state.values())), dict):
        state = next(iter(state.values()))  # {"state_dict": {...}} and the like
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise DCGANError(
            f"{path} holds no state_dict of tensors", "pass a file saved with torch.save(net.state_dict())"
        )
    return state


def infer_spec(state: dict[str, torch.Tensor], path: Path) -> tuple[str, ModelSpec]:
    """("G" or "D", the architecture) from the 4-D weights' shapes: D ends in one logit, G in 1 or 3 channels."""
    convs = [v for v in state.values() if v.ndim == 4]
    if len(convs) < 3:
        raise DCGANError(f"{path} does not hold a DCGAN generator or discriminator", "pass a netG/netD .pth file")
    resolution = 4 * 2 ** (len(convs) - 1)
    try:
        if convs[-1].shape[0] == 1:  # D: first conv (width, channels), last (1, 8 x width)
            width, channels = convs[0].shape[:2]
            return "D", ModelSpec(resolution=resolution, channels=channels, nz=1, g_width=width, d_width=width)
        nz, width, channels = convs[0].shape[0], convs[-1].shape[0], convs[-1].shape[1]
        return "G", ModelSpec(resolution=resolution, channels=channels, nz=nz, g_width=width, d_width=width)
    except DCGANError as exc:
        raise DCGANError(f"{path} is not a DCGAN network this package can build: {exc.problem}") from None


def load_legacy(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """A pytorch/examples G or D file as a checkpoint's tensors (``G.*`` or ``D.*``) and metadata."""
    state = read_state_dict(path)
    prefix, spec = infer_spec(state, path)
    ours = (Generator if prefix == "G" else Discriminator)(spec).state_dict()
    theirs = list(state.items())
    if len(theirs) != len(ours):
        raise DCGANError(f"{path} has {len(theirs)} entries, our {prefix} has {len(ours)}", "pass a DCGAN netG/netD")
    tensors = {}
    for (name, mine), (their_name, value) in zip(ours.items(), theirs, strict=True):
        if mine.shape != value.shape:
            raise DCGANError(
                f"{path}: {their_name} has shape {tuple(value.shape)}, our {name} needs {tuple(mine.shape)}",
                "pass a DCGAN netG/netD file of pytorch/examples",
            )
        tensors[f"{prefix}.{name}"] = value
    meta = {"format": FORMAT, "model": spec.to_dict(), "config": {"noise": "normal"}, "networks": [prefix]}
    return tensors, meta
