"""The cost of ``--augment``'s transforms on this CPU, against kornia's nearest equivalents when kornia is importable.

python -m benchmarks.augment_speed [--resolution 64] [--batch 128] [--repeats 10] [--steps 0]

Times one batch through colour, translation and cutout at p = 1 (``--augment diffaug``), forward and backward (G's
update differentiates through them), in process CPU seconds, median of ``--repeats``. kornia is not a dependency:
install it beside the package to compare (its ColorJitter, RandomAffine translation and RandomErasing, all p = 1).
With ``--steps N``, also a whole training step of the ``small`` preset in fp32 without and with the augmentation
(mean of N after a warm-up), for its share of the step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from dcgan import TrainConfig
from dcgan.core.models import Discriminator, Generator
from dcgan.training.augment import DEFAULT_POLICY, Augment, parse_policy
from dcgan.training.step import make_optimizers, train_step


def cpu_seconds(transform: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, repeats: int) -> float:
    """Median process CPU seconds of a forward and a backward pass through ``transform``."""
    times = []
    for _ in range(repeats + 1):  # the first is a warm-up
        x = images.detach().requires_grad_()
        start = time.process_time()
        transform(x).square().mean().backward()
        times.append(time.process_time() - start)
    return statistics.median(times[1:])


def kornia_pipeline() -> Callable[[torch.Tensor], torch.Tensor] | None:
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    pipeline = K.AugmentationSequential(
        K.ColorJitter(brightness=0.5, contrast=0.5, saturation=1.0, p=1.0),
        K.RandomAffine(degrees=0, translate=(1 / 8, 1 / 8), p=1.0),
        K.RandomErasing(scale=(0.25, 0.25), ratio=(1.0, 1.0), p=1.0),
    )
    return lambda x: pipeline((x + 1) / 2) * 2 - 1  # kornia's colour ranges assume [0, 1]


def step_seconds(images: torch.Tensor, augment: Augment | None, steps: int) -> float:
    """Mean process CPU seconds of a training step of the ``small`` preset in fp32, channels_last."""
    config = TrainConfig().fitted_to(images.shape[-1], 3)
    spec, cpu = config.model_spec(), torch.device("cpu")
    G = Generator(spec).to(memory_format=torch.channels_last)
    D = Discriminator(spec).to(memory_format=torch.channels_last)
    opt_g, opt_d = make_optimizers(G, D, config, cpu)
    z = torch.randn(len(images), spec.nz)
    train_step(G, D, opt_g, opt_d, images, z, augment=augment)  # warm-up
    start = time.process_time()
    for _ in range(steps):
        train_step(G, D, opt_g, opt_d, images, z, augment=augment)
    return (time.process_time() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(0)
    images = torch.rand(args.batch, 3, args.resolution, args.resolution) * 2 - 1
    images = images.contiguous(memory_format=torch.channels_last)
    ours = Augment(parse_policy(DEFAULT_POLICY), torch.Generator().manual_seed(0))
    print(f"batch {args.batch} x 3 x {args.resolution}^2, {torch.get_num_threads()} thread(s), forward + backward:")
    print(f"  dcgan {DEFAULT_POLICY}: {cpu_seconds(ours, images, args.repeats) * 1000:.1f} CPU ms")
    kornia = kornia_pipeline()
    if kornia is None:
        print("  kornia: not installed")
    else:
        print(
            f"  kornia ColorJitter + RandomAffine + RandomErasing: {cpu_seconds(kornia, images, args.repeats) * 1000:.1f} CPU ms"
        )

    if args.steps:
        plain, augmented = step_seconds(images, None, args.steps), step_seconds(images, ours, args.steps)
        print(f"  a training step, small fp32: {plain:.2f} CPU s without, {augmented:.2f} with augmentation")


if __name__ == "__main__":
    main()
