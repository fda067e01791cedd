"""The trained models shipped with the project render the samples recorded when they were shipped: the MNIST G
inside the package (``--pretrained mnist``) and each recipe's G beside its figures on the results page. A shipped
file replaced without its recording (or damaged) fails here; a file absent from this tree is skipped.

To record a model after replacing it: ``python tests/test_shipped_models.py NAME``."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan import load_checkpoint
from dcgan.core.checkpoints import pretrained_path
from dcgan.core.images import to_uint8
from dcgan.core.sampling import class_rows, generate, sample_noise, seeded

ROOT = Path(__file__).resolve().parents[1]
RECORDED = Path(__file__).parent / "recorded"
SHIPPED = {
    "pretrained-mnist": pretrained_path("mnist"),
    **{  # a page section's figures folder: the recipe, or the recipe and its levers
        f"results-{folder}": ROOT / "docs" / "results" / folder / "generator.safetensors"
        for folder in ("faces", "lsun", "mnist", "cifar10-d-width-256-pick-by-validation")
    },
}
SAMPLES = 8
# grey levels: other CPUs' kernels round fp32 sums in another order, moving a pixel across a level boundary
LEVELS = 2


def seeded_row(path: Path) -> np.ndarray:
    """SAMPLES images of the file's G from seed 0 (a conditional G's classes as `dcgan sample` sorts them), side by side, as 8-bit
    pixels."""
    ckpt = load_checkpoint(path)
    G = ckpt.generator()
    labels = class_rows(SAMPLES, G.spec.num_classes) if G.spec.num_classes else None
    images = to_uint8(generate(G, sample_noise(SAMPLES, G.spec.nz, ckpt.noise, seeded(0)), labels))  # (N, H, W, C)
    row = np.concatenate(list(images), axis=1)
    return row[..., 0] if row.shape[-1] == 1 else row  # PIL reads a one-channel image as (H, W)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_renders_its_recorded_sample(name):
    if not SHIPPED[name].is_file():
        pytest.skip(f"{SHIPPED[name].relative_to(ROOT)} is not in this tree")
    ours = seeded_row(SHIPPED[name]).astype(int)
    recorded = np.asarray(Image.open(RECORDED / f"{name}.png")).astype(int)
    assert ours.shape == recorded.shape
    assert np.abs(ours - recorded).max() <= LEVELS
    assert ours.std() > 20  # images, not a flat field


if __name__ == "__main__":
    for name in sys.argv[1:]:
        Image.fromarray(seeded_row(SHIPPED[name])).save(RECORDED / f"{name}.png")
        print("recorded", RECORDED / f"{name}.png")
