"""A domain feature network: a small convolutional classifier trained on the labelled real data itself.

Inception features need a 100 MB download and describe ImageNet photographs; a network trained
on the dataset at hand works offline, in seconds per epoch on a CPU, and sees what matters
there (stroke shapes for digits, faces' attributes for CelebA). Its penultimate layer (128-d)
gives the features for FID, KID and precision/recall. It learns the data's class labels
(MNIST, CIFAR, class folders) or, for CelebA, its 40 attributes as 40 binary outputs. Saved in
the one tensor container (``core/tensorfile``): weights, plus the metadata to rebuild it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..core.device import pick_device
from ..core.features import Extractor
from ..core.images import resized_unit_range
from ..core.progress import progress_bar
from ..core.sampling import seeded
from ..core.tensorfile import load_tensors, save_tensors
from ..data import ImageData, SourceOptions, load_dataset
from ..errors import DCGANError

FORMAT = "dcgan-domain-classifier-1"
FILE_NAME = "classifier.safetensors"
FEATURES = 128
DEFAULT_RESOLUTION = 32


class DomainNet(nn.Module):
    """Three conv stages (width, 2x, 4x; each a 3x3 convolution + BatchNorm + ReLU, then 2x2 max pool),
    global average pool, a 128-d hidden layer (the features), and the output layer."""

    def __init__(self, channels: int, outputs: int, width: int = 32):
        super().__init__()
        layers, cin = [], channels
        for cout in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, FEATURES), nn.ReLU())
        self.head = nn.Linear(FEATURES, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass
class DomainClassifier:
    """A trained :class:`DomainNet` and what it was trained on."""

    net: DomainNet
    meta: dict  # resolution, channels, width, task ("classes" or "attributes"), names, source, held-out accuracy

    def inputs(self, batch: torch.Tensor) -> torch.Tensor:
        return resized_unit_range(batch, self.meta["resolution"], self.meta["channels"])

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        path = out if out.suffix == ".safetensors" else out / FILE_NAME
        return save_tensors(path, self.net.state_dict(), {"format": FORMAT, **self.meta})


def _targets(data: ImageData) -> tuple[str, torch.Tensor, list[str]]:
    """("classes", int labels, class names) or ("attributes", {0, 1} floats, attribute names)."""
    if data.labels is not None:
        names = data.class_names or [str(c) for c in range(int(data.labels.max()) + 1)]
        return "classes", data.labels, names
    if data.attributes is not None:
        return "attributes", (data.attributes.float() + 1) / 2, data.attribute_names
    raise DCGANError(
        f"{data.source or 'the data'} has no labels to train a classifier on",
        "give labelled data: MNIST/CIFAR files, CelebA (attributes), or a folder of class folders",
    )


def _loss_and_hits(task: str, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if task == "classes":
        return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()
    return F.binary_cross_entropy_with_logits(logits, y), ((logits > 0).float() == y).float().mean()


def train_classifier(
    data: str | Path | ImageData | None,
    out: str | Path,
    options: SourceOptions | None = None,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    width: int = 32,
    held_out: float = 0.1,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> tuple[DomainClassifier, Path]:
    """Train on the labelled images of ``data`` (a path or loaded data) and save to ``out`` (folder or file).

    The network reads images at the data's resolution (``options.resolution``, by default
    ``DEFAULT_RESOLUTION``); images of other sizes are resized to it when features are extracted.

    A random ``held_out`` share is kept aside; its accuracy (per attribute for CelebA) is stored
    with the weights, so a user can see that the features learned something.
    """
    source = data.source if isinstance(data, ImageData) else str(data or "the bundled MNIST sample")
    if not isinstance(data, ImageData):
        options = options or SourceOptions()
        options = replace(options, resolution=options.resolution or DEFAULT_RESOLUTION)
        data = load_dataset(data, options, progress=progress, cache=True)
    task, y_all, names = _targets(data)
    dev = pick_device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DomainNet(data.channels, len(names), width).to(dev)
    clf = DomainClassifier(net, {"resolution": data.resolution, "channels": data.channels, "width": width})
    order = torch.randperm(len(data), generator=seeded(seed))
    n_test = max(1, int(len(data) * held_out))
    test, train = order[:n_test], order[n_test:]

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        return _loss_and_hits(task, net(clf.inputs(data.images[idx]).to(dev)), y_all[idx].to(dev))[0]

    fit(net, train, batch_loss, epochs, batch_size, lr, seeded(seed + 1), "train-classifier", progress)
    with torch.inference_mode():
        hits = [
            _loss_and_hits(task, net(clf.inputs(data.images[idx]).to(dev)), y_all[idx].to(dev))[1] * len(idx)
            for idx in test.split(512)
        ]
    clf.meta |= {
        "task": task,
        "names": names,
        "source": source,
        "train_images": len(train),
        "held_out_images": n_test,
        "held_out_accuracy": float(sum(hits) / n_test),
        "epochs": epochs,
    }
    return clf, clf.save(out)


def fit(
    net: nn.Module,
    rows: torch.Tensor,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    epochs: int,
    batch_size: int,
    lr: float,
    order: torch.Generator,
    name: str,
    progress: bool = False,
    decay: bool = False,
) -> None:
    """Adam on the mean loss of mini-batches of ``rows`` (indices), in a new order drawn from ``order`` each
    epoch; ``net`` is left in eval mode. With ``decay``, the learning rate falls from ``lr`` to 0 along a half
    cosine over the whole run (the last epochs refine rather than jump between minima).

    The one training loop of the classifiers of labelled images (this module's, and the attribute classifier
    of ``experiments/attributes.py``): only the network and what a batch's loss is differ.
    """
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    steps = epochs * -(-len(rows) // batch_size)
    cosine = (
        torch.optim.lr_scheduler.LambdaLR(opt, lambda i: (1 + math.cos(math.pi * i / steps)) / 2) if decay else None
    )
    net.train()
    bar = progress_bar(epochs * len(rows), name, progress, leave=False)
    for epoch in range(epochs):
        bar.set_description(f"{name} epoch {epoch + 1}/{epochs}")
        for batch in rows[torch.randperm(len(rows), generator=order)].split(batch_size):
            bar.update(len(batch))
            if len(batch) < 2:  # BatchNorm needs two images
                continue
            loss = batch_loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if cosine is not None:
                cosine.step()
    bar.close()
    net.eval()


def load_classifier(path: str | Path) -> DomainClassifier:
    """A classifier saved by :func:`train_classifier` (its file, or the folder holding it), in eval mode."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    fix = "pass the folder or file written by 'dcgan train-classifier --data DATA -o DIR'"
    tensors, meta = load_tensors(path, "is not a dcgan domain classifier", fix, fmt=FORMAT)
    net = DomainNet(meta["channels"], len(meta["names"]), meta["width"])
    net.load_state_dict(tensors)
    return DomainClassifier(net.eval(), {k: v for k, v in meta.items() if k != "format"})  # as trained


def domain_extractor(path: str | Path, device: str | torch.device = "cpu", name: str | None = None) -> Extractor:
    """The penultimate layer of a trained domain classifier, for uint8 images of any size and channels."""
    clf = load_classifier(path)
    net = clf.net.to(device)

    def fn(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net.body(clf.inputs(batch).to(device)).float().cpu()

    return Extractor(name or f"domain:{path} ({clf.meta['source'] or 'unnamed data'})", FEATURES, fn)
