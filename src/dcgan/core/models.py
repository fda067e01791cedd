"""The DCGAN generator and discriminator (Radford, Metz & Chintala, 2016, section 3).

Both networks are stacks of named blocks so that later tools can read or edit any layer:
``G.blocks["up2"]``, ``D.blocks["down3"]``, and ``features(x)`` returns every block's
output from one forward pass. The architecture follows the paper's guidelines:

* no pooling: D downsamples with stride-2 convolutions, G upsamples with stride-2
  transposed ("fractionally-strided") convolutions;
* no fully connected hidden layers: z is projected to the first 4x4 map by a 4x4
  transposed convolution (a linear map reshaped), and D's last 4x4 map goes to one logit
  through a 4x4 convolution;
* BatchNorm everywhere except G's output layer and D's input layer;
* ReLU in G with a Tanh output; LeakyReLU(0.2) in D.

A class-conditional pair (``ModelSpec(num_classes=K)``) takes a label beside z or the image,
as the original code's MNIST model did: the one-hot label is appended as K constant feature
maps to the input of every block of G and D (``conv_cond_concat``; for G's first block that is
z concatenated with y). With ``num_classes=0`` (the default) the networks are the unconditional
ones, unchanged.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import DCGANError

MIN_RESOLUTION, MAX_RESOLUTION = 16, 256
WIDTH_CAP = 8  # widths double per layer up to 8x the base: the paper's 1024 = 8 x 128


@dataclass(frozen=True)
class ModelSpec:
    """Everything that fixes the networks' shapes; stored in every checkpoint."""

    resolution: int = 64
    channels: int = 3
    nz: int = 100
    g_width: int = 64  # G's widest-resolution width (the paper's 128, "small" 64)
    d_width: int = 64  # D's input-layer width
    num_classes: int = 0  # 0: unconditional; K: G and D also take a label in 0..K-1

    def __post_init__(self) -> None:
        r = self.resolution
        if r < MIN_RESOLUTION or r > MAX_RESOLUTION or r & (r - 1):
            raise DCGANError(
                f"resolution {r} is not supported",
                f"use a power of two from {MIN_RESOLUTION} to {MAX_RESOLUTION} (16, 32, 64, 128, 256)",
            )
        if self.channels not in (1, 3):
            raise DCGANError(f"channels must be 1 or 3, not {self.channels}", "pass --channels 1 or --channels 3")
        for name in ("nz", "g_width", "d_width"):
            if getattr(self, name) < 1:
                raise DCGANError(f"{name} must be a positive integer, not {getattr(self, name)}")
        if self.num_classes < 0 or self.num_classes == 1:
            raise DCGANError(
                f"num_classes must be 0 (unconditional) or at least 2, not {self.num_classes}",
                "train a conditional model on data with two or more classes",
            )

    @property
    def num_scales(self) -> int:
        """Number of factor-2 resolution changes between 4x4 and the image."""
        return int(math.log2(self.resolution)) - 2

    def widths(self, base: int) -> list[int]:
        """Channel widths from the image side inwards: base, 2*base, ... capped at 8*base."""
        return [base * min(2**i, WIDTH_CAP) for i in range(self.num_scales)]

    def to_dict(self) -> dict:
        """The fields, leaving out ``num_classes`` when 0: unconditional specs are written as they always were."""
        values = asdict(self)
        if not self.num_classes:
            del values["num_classes"]
        return values


def _init_weights(module: nn.Module) -> None:
    """The paper's initialisation: conv weights N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class _BlockNet(nn.Module):
    """A chain of named blocks with per-layer access; a conditional net appends the label to every block's input."""

    blocks: nn.ModuleDict
    spec: ModelSpec

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        onehot = self._onehot(labels, x)
        for block in self.blocks.values():
            x = block(_append_label_maps(x, onehot))
        return x

    def features(
        self, x: torch.Tensor, upto: str | None = None, labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Every block's output in order, from one forward pass (stopping after ``upto``)."""
        if upto is not None and upto not in self.blocks:
            raise DCGANError(f"no layer named {upto!r}", f"choose one of {', '.join(self.blocks)}")
        onehot = self._onehot(labels, x)
        out = {}
        for name, block in self.blocks.items():
            x = block(_append_label_maps(x, onehot))
            out[name] = x
            if name == upto:
                break
        return out

    def _onehot(self, labels: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
        """(N, K, 1, 1) one-hot labels for a conditional net, None for an unconditional one.

        Written as a comparison rather than ``F.one_hot`` so that it never waits on the device;
        callers check the labels' range where they enter (sampling, training).
        """
        k = self.spec.num_classes
        if (labels is None) != (k == 0):
            raise DCGANError(
                "this network is class-conditional and needs labels" if k else "this network takes no labels",
                "pass one class label per image, G(z, labels) (on the command line: --class)"
                if k
                else "train with --conditional to use labels",
            )
        if labels is None:
            return None
        classes = torch.arange(k, device=labels.device)
        return (labels.reshape(-1, 1) == classes).to(x.dtype)[:, :, None, None]


def _append_label_maps(x: torch.Tensor, onehot: torch.Tensor | None) -> torch.Tensor:
    """x with the one-hot label appended as constant feature maps (the original code's ``conv_cond_concat``)."""
    if onehot is None:
        return x
    return torch.cat([x, onehot.expand(-1, -1, *x.shape[2:])], dim=1)


class Generator(_BlockNet):
    """z (nz) -> 4x4 map -> ... -> image in [-1, 1].

    Blocks: ``project`` (z to 4x4), ``up1`` ... ``up{k-1}`` (each doubles the size and
    halves the width), ``to_image`` (the last transposed conv + Tanh, no BatchNorm).
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        widths = spec.widths(spec.g_width)[::-1]  # widest first, at 4x4
        k = spec.num_classes  # label maps appended to every block's input
        blocks: dict[str, nn.Module] = {
            "project": nn.Sequential(
                nn.ConvTranspose2d(spec.nz + k, widths[0], 4, 1, 0, bias=False),
                nn.BatchNorm2d(widths[0]),
                nn.ReLU(inplace=True),
            )
        }
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths), start=1):
            blocks[f"up{i}"] = nn.Sequential(
                nn.ConvTranspose2d(c_in + k, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            )
        blocks["to_image"] = nn.Sequential(
            nn.ConvTranspose2d(widths[-1] + k, spec.channels, 4, 2, 1, bias=False), nn.Tanh()
        )
        self.blocks = nn.ModuleDict(blocks)
        _init_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Accepts z as (N, nz) or (N, nz, 1, 1); ``labels`` (N,) class indices for a conditional G."""
        return super().forward(z.reshape(z.shape[0], self.spec.nz, 1, 1), labels)

    def features(
        self, z: torch.Tensor, upto: str | None = None, labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        return super().features(z.reshape(z.shape[0], self.spec.nz, 1, 1), upto, labels)


class Discriminator(_BlockNet):
    """image -> ... -> 4x4 map -> one logit per image.

    Blocks: ``down1`` (no BatchNorm on the input layer), ``down2`` ... ``down{k}``, ``logit``
    (a 4x4 valid convolution to one output). Returns logits: the losses are written with
    ``softplus`` on them, the numerically stable form of the paper's sigmoid + cross-entropy.
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        widths = spec.widths(spec.d_width)
        k = spec.num_classes  # label maps appended to every block's input
        blocks: dict[str, nn.Module] = {
            "down1": nn.Sequential(
                nn.Conv2d(spec.channels + k, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)
            )
        }
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths), start=2):
            blocks[f"down{i}"] = nn.Sequential(
                nn.Conv2d(c_in + k, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2, inplace=True),
            )
        blocks["logit"] = nn.Sequential(nn.Conv2d(widths[-1] + k, 1, 4, 1, 0, bias=False), nn.Flatten(0))
        self.blocks = nn.ModuleDict(blocks)
        _init_weights(self)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
