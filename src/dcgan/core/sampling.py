"""Drawing z (and, for a class-conditional G, labels) and running G on them."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import DCGANError
from .models import Discriminator, Generator
from .progress import progress_bar

NOISE_KINDS = ("normal", "uniform")
MAX_SEED = 2**32 - 1  # what numpy takes too; larger seeds overflow the derived seeds (seed x 1_000_003 + epoch)


def sample_noise(
    n: int, nz: int, kind: str = "normal", generator: torch.Generator | None = None, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """z ~ N(0, 1) (default) or U[-1, 1] (the original Theano code's), shape (n, nz)."""
    if kind == "normal":
        return torch.randn(n, nz, generator=generator, device=device)
    if kind == "uniform":
        return torch.rand(n, nz, generator=generator, device=device) * 2 - 1
    raise DCGANError(f"unknown noise kind {kind!r}", "use 'normal' or 'uniform'")


def seeded(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``: every command's "--seed" draws its z from one of these."""
    if not 0 <= seed <= MAX_SEED:
        raise DCGANError(f"seed {seed} is out of range", f"use a seed from 0 to {MAX_SEED}")
    return torch.Generator().manual_seed(seed)


def class_rows(n: int, num_classes: int) -> torch.Tensor:
    """Labels for ``n`` images sorted by class, ceil(n / K) each: a grid with that many per row shows one class a row."""
    return torch.arange(n) // math.ceil(n / num_classes)


def class_index(wanted: str | int, class_names: list[str]) -> int:
    """The label of a class given by name (``"7"``, ``"cat"``) or by index, checked against ``class_names``."""
    if str(wanted) in class_names:
        return class_names.index(str(wanted))
    if (isinstance(wanted, int) or str(wanted).isdigit()) and 0 <= int(wanted) < len(class_names):
        return int(wanted)
    raise DCGANError(
        f"no class {wanted!r} in this model" if class_names else "this generator is not class-conditional",
        f"choose an index from 0 to {len(class_names) - 1} or one of {', '.join(class_names)}"
        if class_names
        else "train with --conditional on labelled data to draw chosen classes",
    )


class OneClass(nn.Module):
    """A class-conditional G or D with its class fixed: G(z) draws that class, D judges images as that class.

    It has the interface of an unconditional network (``spec``, ``blocks``, ``forward``, ``features``), so every
    tool written for a network of z (or of images) alone runs a conditional model unchanged: walks, arithmetic,
    directions, forgetting (hooks on ``blocks``), the nearest-neighbour check (D's features) and export.
    """

    def __init__(self, net: Generator | Discriminator, label: int):
        super().__init__()
        self.net, self.label, self.spec = net, label, net.spec
        self.train(net.training)  # a module starts in training mode: the network's own mode, so eval stays eval

    @property
    def blocks(self) -> nn.ModuleDict:
        return self.net.blocks

    def _labels(self, x: torch.Tensor) -> torch.Tensor:
        # from x's own first column, not torch.full(len(x)): an exported (traced) module keeps its batch size free
        return torch.zeros_like(x[(slice(None), *[0] * (x.dim() - 1))], dtype=torch.long) + self.label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self._labels(x))

    def features(self, x: torch.Tensor, upto: str | None = None) -> dict[str, torch.Tensor]:
        return self.net.features(x, upto, labels=self._labels(x))


def at_class(net: Generator | Discriminator, label: int | None) -> Generator | Discriminator:
    """``net`` fixed at the class index ``label`` (:class:`OneClass`), or ``net`` itself where it is unconditional
    and ``label`` is None: the one check that a model and a class go together."""
    k = 0 if isinstance(net, OneClass) else net.spec.num_classes  # a class fixed already is as unconditional
    if label is None and not k:
        return net
    if label is None:
        raise DCGANError(
            f"this network is class-conditional ({k} classes) and draws one class at a time",
            "pass the class index as label= (on the command line: --class)",
        )
    if not k:
        raise DCGANError(
            "this network is not class-conditional (or its class is fixed already): a class means nothing to it",
            "leave out the label (on the command line: --class)",
        )
    if not 0 <= label < k:
        raise DCGANError(f"no class {label} in a network of {k} classes", f"pass a label from 0 to {k - 1}")
    return OneClass(net, int(label))


@torch.no_grad()
def generate(
    G: Generator,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    batch_size: int = 256,
    progress: bool = False,
) -> torch.Tensor:
    """G(z) (or G(z, labels) for a conditional G) in eval mode (BatchNorm running statistics, so each image
    depends only on its own z and label)."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    chunks = []
    with progress_bar(len(z), "sampling", progress) as bar:
        for start in range(0, len(z), batch_size):
            chunk = z[start : start + batch_size].to(device)
            # G(z) alone without labels, so any z -> image module (an unconditional G, a stand-in) works
            images = G(chunk) if labels is None else G(chunk, labels[start : start + batch_size].to(device))
            chunks.append(images.float().cpu().contiguous())  # one batch on the device at a time
            bar.update(len(images))
    out = torch.cat(chunks)
    G.train(was_training)
    return out


def render(G: Generator, z: torch.Tensor) -> torch.Tensor:
    """G(z) for z of any leading shape (..., nz): images (..., C, H, W) in [-1, 1]."""
    images = generate(G, z.reshape(-1, z.shape[-1]))
    return images.reshape(*z.shape[:-1], *images.shape[1:])
