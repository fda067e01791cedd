"""The paper's nearest-neighbour protocol (appendix, table 3): how well a conditional G models each class.

Draw N labelled samples from a class-conditional generator (N / K per class), fit a
1-nearest-neighbour classifier on their pixels, classify the real test set, and report the
test error next to the same classifier fitted on N real training images. If the samples
cover each class as well as real data does, the two errors agree; the paper's DCGAN matched
real MNIST at 50K samples (2.98% against 3.1%). Samples are quantised to uint8 exactly as
real images are stored, so both classifiers see the same kind of input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device
from ..core.models import Generator
from ..core.sampling import seeded
from ..data import ImageData, default_test_split, load_dataset
from ..errors import DCGANError
from .evaluate import generated_images

GENERATED, REAL = "DCGAN samples", "real training images"


@dataclass
class NNRow:
    source: str  # GENERATED or REAL
    n: int  # training images of the 1-NN classifier
    test_error: float  # fraction of the test set misclassified


@dataclass
class NNProtocolReport:
    test_size: int
    class_names: list[str]
    rows: list[NNRow] = field(default_factory=list)
    checkpoint: str = ""

    def table(self) -> str:
        """A markdown table: one row per source, one column per N (test error in %)."""
        sizes = sorted({row.n for row in self.rows})
        errors = {(row.source, row.n): row.test_error for row in self.rows}
        lines = [
            "| 1-NN fitted on | " + " | ".join(f"N = {n:,}" for n in sizes) + " |",
            "| --- |" + " ---: |" * len(sizes),
        ]
        for source in dict.fromkeys(row.source for row in self.rows):
            cells = [f"{100 * errors[source, n]:.2f}%" if (source, n) in errors else "-" for n in sizes]
            lines.append(f"| {source} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return asdict(self)


def pixels(images: torch.Tensor) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 (N, C*H*W) in [0, 1]: the protocol's feature space is raw pixels."""
    return images.reshape(len(images), -1).numpy().astype(np.float32) / 255.0


def one_nn_error(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Test error of a 1-nearest-neighbour classifier (Euclidean distance) fitted on (train_x, train_y)."""
    from sklearn.neighbors import KNeighborsClassifier  # on first use: scikit-learn takes a second to import

    classifier = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(train_x, train_y)
    return float(np.mean(classifier.predict(test_x) != test_y))


def conditional_samples(G: Generator, n: int, noise: str = "normal", seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` samples of a conditional G as uint8 (N, C, H, W), the classes in turn (n / K each), and their labels."""
    return generated_images(G, n, seed, noise), (torch.arange(n) % G.spec.num_classes).numpy()


def nn_protocol(
    G: Generator,
    class_names: list[str],
    train: ImageData,
    test: ImageData,
    sizes: Sequence[int] = (1000, 10000),
    noise: str = "normal",
    seed: int = 0,
) -> NNProtocolReport:
    """Test error of 1-NN fitted on N samples of ``G`` and on N random real training images, for each N."""
    k = G.spec.num_classes
    if not k:
        raise DCGANError(
            "the nearest-neighbour protocol needs a class-conditional generator", "train with --conditional"
        )
    _check_labels(train, class_names, "training")
    _check_labels(test, class_names, "test")
    if not sizes or min(sizes) < k:
        raise DCGANError(
            f"each N must be at least the number of classes ({k}), not {min(sizes, default=0)}", "pass larger -n"
        )
    if max(sizes) > len(train):
        raise DCGANError(f"N = {max(sizes)} is more than the {len(train)} real training images", "pass a smaller -n")
    test_x, test_y = pixels(test.images), test.labels.numpy()
    report = NNProtocolReport(test_size=len(test), class_names=list(class_names))
    for n in sizes:
        images, labels = conditional_samples(G, n, noise, seed)
        report.rows.append(NNRow(GENERATED, n, one_nn_error(pixels(images), labels, test_x, test_y)))
    order = torch.randperm(len(train), generator=seeded(seed))
    for n in sizes:
        rows = order[:n]
        error = one_nn_error(pixels(train.images[rows]), train.labels[rows].numpy(), test_x, test_y)
        report.rows.append(NNRow(REAL, n, error))
    return report


def nn_protocol_files(
    checkpoint: str | Path,
    train_data: str | Path,
    test_data: str | Path | None = None,
    sizes: Sequence[int] = (1000, 10000),
    seed: int = 0,
    device: str = "auto",
    generator: str = "auto",
) -> NNProtocolReport:
    """:func:`nn_protocol` from a checkpoint (its ``generator``: 'auto', 'ema' or 'raw') and dataset paths, read at
    the generator's resolution and channels.

    ``test_data`` defaults to the training data's usual test split (MNIST's t10k files, a sibling test folder).
    """
    ckpt = load_checkpoint(checkpoint)
    G = ckpt.generator(generator).to(pick_device(device))
    spec = ckpt.spec
    if not spec.num_classes:
        raise DCGANError(
            f"{ckpt.path} is an unconditional model; the nearest-neighbour protocol needs a class-conditional one",
            "train with --conditional on labelled data",
        )
    train = load_dataset(train_data, resolution=spec.resolution, channels=spec.channels)
    test_path = default_test_split(train_data) if test_data is None else test_data
    test = load_dataset(test_path, resolution=spec.resolution, channels=spec.channels)
    report = nn_protocol(G, ckpt.class_names, train, test, sizes, ckpt.noise, seed)
    report.checkpoint = str(ckpt.path)
    return report


def _check_labels(data: ImageData, class_names: list[str], role: str) -> None:
    """Refuse data whose labels cannot mean the generator's classes: 1-NN errors would be meaningless."""
    if data.labels is None or len(data.labels) == 0:
        raise DCGANError(f"the {role} data {data.source} has no labels", "pass a labelled set (e.g. MNIST with labels)")
    if data.class_names and list(data.class_names) != list(class_names):
        raise DCGANError(
            f"the {role} data's classes ({', '.join(data.class_names)}) are not the generator's"
            f" ({', '.join(class_names)})",
            "use the same kind of data the model was trained on",
        )
    if int(data.labels.min()) < 0 or int(data.labels.max()) >= len(class_names):
        raise DCGANError(
            f"the {role} data {data.source} has labels from {int(data.labels.min())} to {int(data.labels.max())},"
            f" but the generator knows {len(class_names)} classes",
            "use the same kind of data the model was trained on",
        )
