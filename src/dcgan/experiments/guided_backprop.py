"""Guided backpropagation of discriminator features (the paper's section 6.2, figure 5).

Guided backpropagation (Springenberg et al., 2015) shows which input pixels excite a unit:
the ordinary gradient of the unit's activation with respect to the image, except that at
every rectifier the gradient is passed back only where the forward activation was positive
*and* the incoming gradient is positive, so only evidence *for* the unit flows to the image.

For ReLU that gate is exactly the rule of the paper. D uses LeakyReLU(0.2), whose ordinary
gradient is 0.2 where the input was negative; the rule used here is the same gate: the
gradient passes where the forward output is positive and the incoming gradient is positive,
and nothing passes through the leaky side. Keeping the 0.2 leak would let gradient flow back
through units that were *off* for this image, which is the noise guided backprop exists to
remove; with the gate the map shows only paths of units that were on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from PIL import Image
from torch import nn

from ..core.images import labelled_rows, to_unit_range
from ..core.models import Discriminator
from ..errors import DCGANError
from .features import conv_layers, random_discriminator

RECTIFIERS = (nn.ReLU, nn.LeakyReLU)


class _GuidedGate(torch.autograd.Function):
    """Identity forward; backward keeps the gradient only where output > 0 and gradient > 0."""

    @staticmethod
    def forward(ctx, output: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(output > 0)
        return output.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (on,) = ctx.saved_tensors
        return grad * (on & (grad > 0))


def _gate_output(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    # The rectifier's own backward multiplies by 1 where output > 0, where the gate is open, so the
    # composition is exactly the guided rule for ReLU and LeakyReLU alike.
    return _GuidedGate.apply(output)


@contextmanager
def guided(net: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every ReLU and LeakyReLU of ``net`` backpropagates by the guided rule."""
    handles = [m.register_forward_hook(_gate_output) for m in net.modules() if isinstance(m, RECTIFIERS)]
    try:
        yield net
    finally:
        for handle in handles:
            handle.remove()


def guided_backprop(D: Discriminator, images: torch.Tensor, layer: str, channel: int | torch.Tensor) -> torch.Tensor:
    """Guided-backprop maps (N, C, H, W) of one feature map per image, at its most active position.

    ``images`` are floats in [-1, 1]; ``channel`` is one map of ``layer`` (any block of D) or
    one per image. Each image's map is the guided gradient of that channel's spatial maximum.
    D runs in eval mode, so each image's map depends on that image only.
    """
    if layer not in D.blocks:
        raise DCGANError(f"no discriminator layer named {layer!r}", f"choose one of {', '.join(D.blocks)}")
    was_training = D.training
    D.eval()
    x = images.detach().float().clone().requires_grad_(True)
    with torch.enable_grad(), guided(D):
        maps = D.features(x, upto=layer)[layer]
        if maps.dim() != 4:
            raise DCGANError(f"layer {layer!r} has no feature maps", f"choose one of {', '.join(conv_layers(D))}")
        which = torch.as_tensor(channel).expand(len(x))
        chosen = maps[torch.arange(len(x)), which]  # (N, h, w)
        chosen.flatten(1).max(1).values.sum().backward()
    D.train(was_training)
    return x.grad


@torch.no_grad()
def peak_activations(D: Discriminator, images: torch.Tensor, layer: str, batch_size: int = 256) -> torch.Tensor:
    """Each feature map's spatial maximum for each uint8 image: (N, channels) of ``layer``."""
    D.eval()
    peaks = [
        D.features(to_unit_range(chunk), upto=layer)[layer].flatten(2).max(2).values
        for chunk in images.split(batch_size)
    ]
    return torch.cat(peaks)


@dataclass
class FeatureVisualisation:
    """The chosen feature maps, their top images (indices into the data) and the guided maps."""

    channels: list[int]
    top_images: torch.Tensor  # (features, per_feature) indices
    maps: torch.Tensor  # (features, per_feature, C, H, W) guided gradients


def visualise_features(
    D: Discriminator,
    images: torch.Tensor,
    layer: str | None = None,
    features: int = 6,
    per_feature: int = 8,
    channels: list[int] | None = None,
) -> FeatureVisualisation:
    """Figure 5 for one D: the ``features`` maps most active on ``images`` (uint8), each with its top images.

    A map's activity is its spatial maximum averaged over the images; its top images are those
    with the largest spatial maximum. ``layer`` defaults to D's last convolutional layer.
    """
    layer = layer or conv_layers(D)[-1]
    peaks = peak_activations(D, images, layer)
    if channels is None:
        channels = peaks.mean(0).argsort(descending=True)[:features].tolist()
    bad = [c for c in channels if not 0 <= c < peaks.shape[1]]
    if bad:
        raise DCGANError(f"feature maps {bad} do not exist in {layer}", f"pick maps 0-{peaks.shape[1] - 1}")
    per_feature = min(per_feature, len(images))
    top = peaks[:, channels].T.argsort(dim=1, descending=True)[:, :per_feature]
    maps = torch.stack(
        [guided_backprop(D, to_unit_range(images[idx]), layer, c) for c, idx in zip(channels, top, strict=True)]
    )
    return FeatureVisualisation(channels, top, maps)


def to_picture(maps: torch.Tensor, spread: float = 3.0) -> torch.Tensor:
    """Gradient maps -> images in [-1, 1] for display: each centred and scaled by ``spread`` standard deviations."""
    flat = maps.flatten(-3)
    mean = flat.mean(-1, keepdim=True)
    std = flat.std(-1, keepdim=True).clamp_min(1e-12)
    return ((flat - mean) / (spread * std)).clamp(-1, 1).reshape(maps.shape)


def feature_figure(panels: dict[str, FeatureVisualisation]) -> Image.Image:
    """One row per feature map of each named D (e.g. trained, random): its guided maps on its top images."""
    rows = [
        (f"{name} #{c}", to_picture(vis.maps[i])) for name, vis in panels.items() for i, c in enumerate(vis.channels)
    ]
    return labelled_rows(rows)


@dataclass
class GuidedBackpropReport:
    """Figure 5: the visualised feature maps of each D, by name (the trained D, then a random one)."""

    layer: str
    panels: dict[str, FeatureVisualisation]

    def figure(self) -> Image.Image:
        return feature_figure(self.panels)

    def to_dict(self) -> dict:
        return {"layer": self.layer, "maps": {name: vis.channels for name, vis in self.panels.items()}}


def guided_backprop_experiment(
    D: Discriminator,
    images: torch.Tensor,
    layer: str | None = None,
    features: int = 6,
    per_feature: int = 8,
    seed: int = 0,
) -> GuidedBackpropReport:
    """Figure 5: :func:`visualise_features` of the trained ``D`` on real ``images`` (uint8), beside a randomly
    initialised D of the same architecture (drawn with ``seed``): what the maps respond to is learned, or not."""
    layer = layer or conv_layers(D)[-1]
    nets = (("trained", D), ("random", random_discriminator(D.spec, seed)))
    return GuidedBackpropReport(
        layer, {name: visualise_features(net, images, layer, features, per_feature) for name, net in nets}
    )
