"""One step of the paper's algorithm (section 4): the whole of what is learned, and how.

1. D sees a real batch and a fake batch in *separate* forward passes (so BatchNorm never
   mixes their statistics) and descends ``-log D(x) - log(1 - D(G(z)))``;
2. G descends the non-saturating ``-log D(G(z))`` through the updated D (whose weights are
   frozen for that pass: their gradients would be discarded).

Both use Adam(lr 2e-4, beta1 0.5); images are scaled to [-1, 1] and nothing else. The
losses are written with ``softplus`` on D's logits, the numerically stable form of the
sigmoid + cross-entropy above. A class-conditional pair sees the real batch's labels in every
pass (the fake batch is drawn for the same labels, as the original code's MNIST model did).
With ``--augment`` (augment.py), D sees every image, real or fake, through the same random
differentiable transforms, in both updates. Step statistics stay on the device, so the step never waits
on the host; the loop reads them only every ``log_every`` steps.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Adam

from ..errors import DCGANError
from .config import TrainConfig

# what train_step returns, in order; d_x_sign = E[sign D(x)], ADA's overfitting signal r_t (1: D sure of every real image)
STAT_NAMES = ("loss_d", "loss_g", "d_x", "d_g_z", "d_x_sign")


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
    labels: torch.Tensor | None = None,
    D_for_g: nn.Module | None = None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """One D update and one G update; returns the STAT_NAMES statistics on the device.

    ``labels`` (the real images' classes) only for a class-conditional G and D. ``D_for_g``: the
    module G's update runs D through (default ``D``); under DDP the plain D, whose weights, frozen
    there, need no gradient averaging. ``augment``: what D sees instead of each batch (default: the batch).
    """
    seen = augment or _as_is
    opt_d.zero_grad(set_to_none=True)
    with precision.autocast():
        logits_real = D(seen(real), labels).float()
        fake = G(z, labels)
        logits_fake = D(seen(fake.detach()), labels).float()
        loss_d = F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()
    precision.minimize(loss_d, opt_d, "D")

    opt_g.zero_grad(set_to_none=True)
    # G's update needs only the gradient flowing through D to the fake images; the reference
    # also computes D's weight gradients here and discards them. Skipping them changes no
    # weight and saves time (measured in docs/benchmarks.md).
    trainable = [p for p in D.parameters() if p.requires_grad]  # a caller may have frozen some on purpose
    for p in trainable:
        p.requires_grad_(False)
    try:
        with precision.autocast():
            critic = D if D_for_g is None else D_for_g  # not `D_for_g or D`: a compiled module has no truth value
            loss_g = F.softplus(-critic(seen(fake), labels).float()).mean()  # non-saturating: -log D(G(z))
        precision.minimize(loss_g, opt_g, "G")
    finally:
        for p in trainable:
            p.requires_grad_(True)
    d_x, d_g_z = logits_real.sigmoid().mean(), logits_fake.sigmoid().mean()
    return torch.stack([loss_d, loss_g, d_x, d_g_z, logits_real.sign().mean()]).detach()


def _as_is(images: torch.Tensor) -> torch.Tensor:
    return images


def make_optimizers(G: nn.Module, D: nn.Module, config: TrainConfig, device: torch.device) -> tuple[Adam, Adam]:
    """Adam with the paper's settings; the fused kernel on CUDA, the multi-tensor one elsewhere."""
    kwargs = {"lr": config.lr, "betas": (config.beta1, config.beta2)}
    kwargs |= {"fused": True} if device.type == "cuda" else {"foreach": True}
    return Adam(G.parameters(), **kwargs), Adam(D.parameters(), **kwargs)
