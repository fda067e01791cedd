"""How long a run is, said up front: steps, epochs and images seen, and a hint when that is far too short.

The rule of thumb (sources in docs/your-own-images.md): DCGANs need a few thousand steps of 128 images
before samples look like the data, whatever the set's size. pytorch/examples' dcgan trains 25 epochs
by default (about 11,700 steps on MNIST), the PyTorch DCGAN tutorial shows CelebA after 5 epochs (about
7,900 steps) and the paper shows LSUN after one epoch (about 23,000 steps); on a small set this
toolkit's own runs (that document) are still unrecognisable after a few hundred steps.
"""

from __future__ import annotations

import math

USUAL_STEPS = 2000  # below this many steps, samples rarely look like the data yet


def describe_length(total_steps: int, steps_per_epoch: int, batch_size: int) -> str:
    """``"training 528 steps = 16 epochs of 33 steps = 67,584 images seen (batch 128)"``."""
    epochs = total_steps / steps_per_epoch
    shown = f"{epochs:.0f}" if epochs == int(epochs) else f"{epochs:.1f}"
    return (
        f"training {total_steps:,} steps = {shown} epochs of {steps_per_epoch:,} steps"
        f" = {total_steps * batch_size:,} images seen (batch {batch_size})"
    )


def short_run_hint(total_steps: int, steps_per_epoch: int, batch_size: int) -> str | None:
    """What to try when ``total_steps`` is far below what DCGANs usually need, or None when it is not."""
    if total_steps >= USUAL_STEPS / 2:
        return None
    epochs = math.ceil(USUAL_STEPS / steps_per_epoch)
    return (
        f"{total_steps:,} steps is far shorter than DCGANs usually need before samples look like the data"
        f" (a few thousand steps; see docs/your-own-images.md): try --steps {USUAL_STEPS}"
        f" (--kimg {USUAL_STEPS * batch_size // 1000}, or --epochs {epochs} on this set)"
    )
