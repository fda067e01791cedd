"""Augmentation that D sees on real and generated images alike: DiffAugment and ADA (``--augment``).

Why: on a few thousand images D memorises the training set within an epoch and G gets no useful
gradient (docs/your-own-images.md, section 4). Augmenting every image D sees, the real batch, the
fake batch of D's update and the fake batch of G's update, with differentiable transforms
lets D learn from more variety than the set holds, while G is not taught the augmentations:
they lie between G and D, and G's gradient flows back through them.

- ``none``: the paper (the default): D sees the images as they are.
- ``diffaug`` (Zhao et al., NeurIPS 2020): every transform of the policy on every image.
- ``ada`` (Karras et al., NeurIPS 2020): each transform on each image with probability ``p``,
  which starts at 0 and is adjusted every ``ADA_INTERVAL`` steps from the overfitting signal
  r_t = E[sign D(x)] over the real images of those steps: up when r_t is above ``--ada-target``
  (D is sure of the real images: it is overfitting), down when below, by a step that lets p go
  from 0 to 1 in ``--ada-kimg`` thousand images.

The policy (``--augment-policy``, comma-separated): ``color`` (brightness, saturation and
contrast), ``translation`` (by up to an eighth of the side, zero fill), ``cutout`` (a square
half the side, set to 0) and ``flip`` (left-right, half the time). ``flip`` is opt-in: with
augmentation on both sides, D cannot tell G's mirror images from the data's, so only add it
where mirror images are as plausible as the originals (photos, faces; not digits or text).

Implementation: a few lines of torch rather than kornia's augmentations. kornia (0.9, which
installs) draws its random parameters from torch's global random generator; its own docs say
there is no per-instance generator. Exact resume would then mean saving and restoring the global
state around every call, on every device. Here every random number comes from one
``torch.Generator`` on the training device whose state goes into the checkpoint, and a call
draws the same amount of numbers whatever ``p`` is, so resume is bit-exact. The transforms are
batched tensor operations on the device, with no host synchronisation: ``p`` is a device
tensor too. They are also faster: shifts by whole pixels are gathers, where kornia resamples
bilinearly; colour, translation and cutout, forward and backward, on 128 images at 64x64 took
58-63 CPU ms against 121-133 for kornia's nearest equivalents (``benchmarks/augment_speed.py``,
docs/your-own-images.md, section 5).

Under torchrun every rank draws the numbers for the global batch and keeps its own rows, as z is
drawn (training/distributed.py): the generator state is the same on every rank, N ranks augment
exactly as one process with the global batch would, and r_t is averaged over the ranks every
step, so all ranks agree on p.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F

from ..errors import DCGANError
from . import distributed

AUGMENT_MODES = ("none", "diffaug", "ada")
DEFAULT_POLICY = "color,translation,cutout"
TRANSLATION = 1 / 8  # largest shift, as a share of the image side (DiffAugment's)
CUTOUT = 1 / 2  # side of the cut-out square, as a share of the image side (DiffAugment's)
ADA_INTERVAL = 4  # steps between two adjustments of p (StyleGAN2-ADA's)
SEED_OFFSET = 3  # the augmentation stream is seeded with --seed + 3 (z uses + 1, the fixed noise + 2)


class Draws:
    """Uniform numbers in [0, 1) for one batch: drawn for the global batch, this rank's rows kept."""

    def __init__(self, generator: torch.Generator, total: int, rows: slice):
        self.generator = generator
        self.total = total
        self.rows = rows

    def uniform(self, *shape: int) -> torch.Tensor:
        numbers = torch.rand((self.total, *shape), generator=self.generator, device=self.generator.device)
        return numbers[self.rows]


def _per_image(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N,) values shaped to scale or shift (N, C, H, W) images, in their dtype."""
    return values.to(like.dtype).view(-1, 1, 1, 1)


def color(images: torch.Tensor, draws: Draws, on: torch.Tensor) -> torch.Tensor:
    """Brightness + [-0.5, 0.5), saturation x [0, 2), contrast x [0.5, 1.5), per image (on [-1, 1] images)."""
    brightness, saturation, contrast = draws.uniform(3).unbind(1)
    out = images + _per_image(brightness - 0.5, images)
    grey = out.mean(1, keepdim=True)
    out = (out - grey) * _per_image(2 * saturation, images) + grey
    mean = out.mean((1, 2, 3), keepdim=True)
    out = (out - mean) * _per_image(contrast + 0.5, images) + mean
    return torch.where(on.view(-1, 1, 1, 1), out, images)  # the images left alone stay bit for bit the same


def _shift(u: torch.Tensor, limit: int, on: torch.Tensor) -> torch.Tensor:
    """Whole-pixel shifts in [-limit, limit] from uniform numbers; 0 where ``on`` is False."""
    return ((u * (2 * limit + 1)).floor().long() - limit) * on


def translation(images: torch.Tensor, draws: Draws, on: torch.Tensor) -> torch.Tensor:
    """Shift each image by whole pixels, up to ``TRANSLATION`` of its side each way; the uncovered border is 0."""
    n, _, height, width = images.shape
    u = draws.uniform(2)
    limit_y, limit_x = round(height * TRANSLATION), round(width * TRANSLATION)
    dy, dx = _shift(u[:, 0], limit_y, on), _shift(u[:, 1], limit_x, on)
    padded = F.pad(images, (limit_x, limit_x, limit_y, limit_y))
    rows = torch.arange(height, device=images.device) + limit_y - dy[:, None]  # output row r reads row r - dy
    cols = torch.arange(width, device=images.device) + limit_x - dx[:, None]
    batch = torch.arange(n, device=images.device)[:, None, None]
    # a gather: (N, H, W, C), returned as NCHW with channels-last strides
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def cutout(images: torch.Tensor, draws: Draws, on: torch.Tensor) -> torch.Tensor:
    """Set a square of ``CUTOUT`` times the side, centred anywhere in the image (clipped at its edges), to 0."""
    _, _, height, width = images.shape
    u = draws.uniform(2)
    inside = []
    for centre, side, size in ((u[:, 0], height, round(height * CUTOUT)), (u[:, 1], width, round(width * CUTOUT))):
        start = (centre * side).floor().long()[:, None] - size // 2
        pixels = torch.arange(side, device=images.device)
        inside.append((pixels >= start) & (pixels < start + size))
    cut = inside[0][:, :, None] & inside[1][:, None, :] & on[:, None, None]
    return images * (~cut).to(images.dtype)[:, None]


def flip(images: torch.Tensor, draws: Draws, on: torch.Tensor) -> torch.Tensor:
    """Mirror half of the images left to right."""
    mirrored = (draws.uniform() < 0.5) & on
    return torch.where(mirrored.view(-1, 1, 1, 1), images.flip(3), images)


TRANSFORMS: dict[str, Callable[[torch.Tensor, Draws, torch.Tensor], torch.Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
    "flip": flip,
}


def parse_policy(text: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"), in the order written (the order they apply)."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown or not names or len(set(names)) != len(names):
        raise DCGANError(
            f"cannot read --augment-policy {text!r}",
            f"give distinct names from {', '.join(TRANSFORMS)}, comma-separated (default {DEFAULT_POLICY})",
        )
    return names


class AdaptiveP:
    """ADA's controller: p moves by ``step`` every ``ADA_INTERVAL`` steps towards r_t = ``target``."""

    def __init__(self, target: float, step: float, device: torch.device, world: distributed.World):
        self.target = target
        self.step = step
        self.world = world
        self.signs = torch.zeros(2, device=device)  # (sum of the steps' mean sign D(x), steps) since the last move

    def observe(self, p: torch.Tensor, d_x_sign: torch.Tensor, step: int) -> torch.Tensor:
        """Accumulate one step's mean sign of D's real logits; returns p, moved at every ``ADA_INTERVAL``-th step.

        The mean is over every rank's real images (an all-reduce of one number each step), so the
        accumulator, like p, is the same on all ranks and rank 0's checkpoint holds the whole of it.
        """
        mean = distributed.sum_over_ranks(d_x_sign.float(), self.world) / self.world.size
        self.signs = self.signs + torch.stack([mean, torch.ones_like(mean)])
        if step % ADA_INTERVAL:
            return p
        r_t = self.signs[0] / self.signs[1]
        self.signs = torch.zeros_like(self.signs)
        return (p + torch.sign(r_t - self.target) * self.step).clamp(0, 1)


class Augment:
    """The policy's transforms, each applied to each image with probability ``p``; what ``train_step`` calls.

    ``p`` is 1 for DiffAugment; for ADA it starts at 0 and an :class:`AdaptiveP` moves it. Its
    values since the last :meth:`logged` are kept (on the device) for metrics.jsonl.
    """

    def __init__(
        self,
        policy: Sequence[str],
        generator: torch.Generator,
        world: distributed.World = distributed.SINGLE,
        adaptive: AdaptiveP | None = None,
    ):
        self.policy = tuple(policy)
        self.generator = generator
        self.world = world
        self.adaptive = adaptive
        self.p = torch.tensor(0.0 if adaptive else 1.0, device=generator.device)
        self._history: list[torch.Tensor] = []

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        per_rank = len(images)
        rows = slice(self.world.rank * per_rank, (self.world.rank + 1) * per_rank)
        draws = Draws(self.generator, per_rank * self.world.size, rows)
        for name in self.policy:
            on = draws.uniform() < self.p  # drawn whatever p is: the stream's position never depends on it
            images = TRANSFORMS[name](images, draws, on)
        return images

    def observe(self, d_x_sign: torch.Tensor, step: int) -> None:
        """After step ``step``: feed ADA the mean sign of D's real logits (nothing to do for DiffAugment)."""
        if self.adaptive is not None:
            self.p = self.adaptive.observe(self.p, d_x_sign, step)
            self._history.append(self.p)

    def logged(self) -> list[dict[str, float]]:
        """``{"augment_p": p}`` after each step observed since the last call (one host read), for metrics.jsonl."""
        if not self._history:
            return []
        values = torch.stack(self._history).tolist()
        self._history.clear()
        return [{"augment_p": value} for value in values]

    def state(self) -> dict[str, torch.Tensor]:
        """What a checkpoint keeps: the random stream, p and ADA's accumulator."""
        state = {"rng.augment": self.generator.get_state(), "augment.p": self.p.cpu()}
        if self.adaptive is not None:
            state["augment.signs"] = self.adaptive.signs.cpu()
        return state

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        missing = sorted(set(self.state()) - set(tensors))
        if missing:
            raise DCGANError(
                f"the checkpoint holds no augmentation state ({', '.join(missing)}), though its run uses --augment",
                "use another checkpoint of the run (checkpoints/epoch_NNNN.safetensors), or start a new run",
            )
        self.generator.set_state(tensors["rng.augment"])
        self.p = tensors["augment.p"].to(self.p.device)
        if self.adaptive is not None:
            self.adaptive.signs = tensors["augment.signs"].to(self.p.device)


class AugmentOptions(Protocol):
    """The options augmentation reads (a :class:`~dcgan.training.config.TrainConfig` has them): the config
    defines its fields with this module's modes and policy, so this module does not import the config."""

    augment: str
    augment_policy: str
    ada_target: float
    ada_kimg: float
    seed: int


def make_augment(
    config: AugmentOptions, device: torch.device, world: distributed.World, global_batch: int
) -> Augment | None:
    """The augmentation a config asks for (None for ``--augment none``, the paper)."""
    if config.augment == "none":
        return None
    adaptive = None
    if config.augment == "ada":
        step = global_batch * ADA_INTERVAL / (config.ada_kimg * 1000)
        adaptive = AdaptiveP(config.ada_target, step, device, world)
    generator = torch.Generator(device).manual_seed(config.seed + SEED_OFFSET)
    return Augment(parse_policy(config.augment_policy), generator, world, adaptive)
