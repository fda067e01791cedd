"""The paper's nearest-neighbour protocol on a synthetic labelled set whose 1-NN errors are known exactly."""

import numpy as np
import pytest
import torch
from torch import nn

from dcgan import DCGANError, ImageData, ModelSpec
from dcgan.metrics import nn_protocol
from dcgan.metrics.nn_protocol import GENERATED, REAL

K, SIZE = 3, 16
SPEC = ModelSpec(resolution=SIZE, channels=1, nz=4, num_classes=K)


def stripes(labels: torch.Tensor) -> torch.Tensor:
    """Class k: a bright vertical band at columns 5k..5k+4 on black, in [-1, 1]."""
    columns = torch.arange(SIZE) // 5
    return torch.where(columns == labels[:, None, None, None], 1.0, -1.0).expand(-1, 1, SIZE, -1).clone()


def stripe_data(labels: list[int], seed: int) -> ImageData:
    """Real images of the classes: the bands with pixel noise, stored as uint8 like any dataset."""
    y = torch.tensor(labels)
    noise = torch.randn(len(y), 1, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)) * 0.2
    images = ((stripes(y) + noise).clamp(-1, 1) + 1) * 127.5
    return ImageData(images.round().to(torch.uint8), y, ["left", "middle", "right"], "stripes")


class StripeGenerator(nn.Module):
    """Asked for class k, draws class ``drawn[k]``: a generator whose 1-NN error is known."""

    def __init__(self, drawn: tuple[int, ...] = (0, 1, 2), spec: ModelSpec = SPEC):
        super().__init__()
        self.spec, self.drawn = spec, torch.tensor(drawn)
        self.weight = nn.Parameter(torch.zeros(()))  # generate() reads the device from the parameters

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return stripes(self.drawn[labels]) + 0 * z.sum()


TRAIN = stripe_data([k for k in range(K) for _ in range(20)], seed=1)
TEST = stripe_data([0] * 10 + [1] * 20 + [2] * 30, seed=2)  # unequal classes: a label-blind G's error is not 2/3
NAMES = TRAIN.class_names


def errors(report) -> dict[tuple[str, int], float]:
    return {(row.source, row.n): row.test_error for row in report.rows}


def test_a_faithful_generator_matches_real_data():
    report = nn_protocol(StripeGenerator(), NAMES, TRAIN, TEST, sizes=(3, 60))
    assert errors(report) == {(GENERATED, 3): 0.0, (GENERATED, 60): 0.0, (REAL, 3): 1 / 3, (REAL, 60): 0.0}
    assert report.test_size == 60 and report.class_names == NAMES
    assert report.table().splitlines() == [
        "| 1-NN fitted on | N = 3 | N = 60 |",
        "| --- | ---: | ---: |",
        "| DCGAN samples | 0.00% | 0.00% |",
        "| real training images | 33.33% | 0.00% |",  # the 3 drawn miss class 1
    ]


def test_generators_that_mix_up_classes_have_the_known_errors():
    shifted = nn_protocol(StripeGenerator(drawn=(1, 2, 0)), NAMES, TRAIN, TEST, sizes=(6,))
    assert errors(shifted)[GENERATED, 6] == 1.0  # every class drawn as the next one
    swapped = nn_protocol(StripeGenerator(drawn=(1, 0, 2)), NAMES, TRAIN, TEST, sizes=(6,))
    assert errors(swapped)[GENERATED, 6] == pytest.approx(30 / 60)  # the 10 + 20 test images of classes 0 and 1
    assert "| DCGAN samples | 50.00% |" in swapped.table()


def test_the_real_baseline_is_a_random_subset_of_n_training_images():
    """With one image per class drawn, a class missing from the subset is misread: the error moves with N."""
    report = nn_protocol(StripeGenerator(), NAMES, TRAIN, TEST, sizes=(3, 60), seed=3)
    order = torch.randperm(len(TRAIN), generator=torch.Generator().manual_seed(3))[:3]
    present = set(TRAIN.labels[order].tolist())
    missing = sum(int((TEST.labels == k).sum()) for k in range(K) if k not in present)
    assert errors(report)[REAL, 3] >= missing / 60 and errors(report)[REAL, 60] == 0.0


def test_bad_inputs_are_refused_with_a_clear_message():
    with pytest.raises(DCGANError, match="needs a class-conditional generator"):
        unconditional = ModelSpec(resolution=SIZE, channels=1, nz=4)
        nn_protocol(StripeGenerator(spec=unconditional), NAMES, TRAIN, TEST)
    with pytest.raises(DCGANError, match="at least the number of classes"):
        nn_protocol(StripeGenerator(), NAMES, TRAIN, TEST, sizes=(2,))
    with pytest.raises(DCGANError, match="N = 61 is more than the 60 real training images"):
        nn_protocol(StripeGenerator(), NAMES, TRAIN, TEST, sizes=(61,))
    unlabelled = ImageData(TEST.images, source="unlabelled stripes")
    with pytest.raises(DCGANError, match="test data unlabelled stripes has no labels"):
        nn_protocol(StripeGenerator(), NAMES, TRAIN, unlabelled)
    with pytest.raises(DCGANError, match=r"classes \(a, b, c\) are not the generator's"):
        renamed = ImageData(TEST.images, TEST.labels, ["a", "b", "c"], "renamed")
        nn_protocol(StripeGenerator(), NAMES, TRAIN, renamed)
    with pytest.raises(DCGANError, match="labels from 0 to 2, but the generator knows 2 classes"):
        nn_protocol(
            StripeGenerator(spec=ModelSpec(resolution=SIZE, channels=1, nz=4, num_classes=2)),
            ["0", "1"],
            ImageData(TRAIN.images, TRAIN.labels, None, "numbers"),
            TEST,
        )


def test_samples_are_quantised_like_stored_images():
    """The generated side goes through uint8 as real images do: float noise below half a level vanishes."""
    from dcgan.metrics.nn_protocol import conditional_samples

    images, labels = conditional_samples(StripeGenerator(), 7)
    assert images.dtype == torch.uint8 and images.shape == (7, 1, SIZE, SIZE)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert np.array_equal(images[1, 0, 0].numpy() > 127, (torch.arange(SIZE) // 5 == 1).numpy())
