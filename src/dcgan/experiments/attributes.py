"""A small attribute classifier: trained on real labelled images, used to score generated ones.

It turns "pick three smiling women from a sheet" into a reproducible command: samples are
scored, exemplars are the most confident matches of an attribute condition such as
``Smiling&!Male``, and the outputs of latent arithmetic are measured by the same scores.
The network is the DCGAN discriminator's convolutional trunk (narrow) with one logit per
attribute. Train it on images framed exactly like the generator's training images (same
loader, crop and resolution): a classifier is only as good as the match between the images
it learned from and the ones it scores. Attributes come from ``ImageData.attributes``
(e.g. CelebA's 40) or, failing that, from class labels (one attribute per class).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from ..core.checkpoints import load_checkpoint
from ..core.images import to_unit_range
from ..core.models import Discriminator, Generator, ModelSpec
from ..core.sampling import render, sample_noise, seeded
from ..core.tensorfile import load_tensors, save_tensors
from ..data import ImageData
from ..errors import DCGANError
from ..metrics.classifier import fit
from ..training import TrainConfig, load_training_data
from .latent import load_z
from .tables import Table, number

FORMAT = "dcgan-attributes-1"


class TrunkNet(nn.Module):
    """Images in [-1, 1] -> ``outputs`` numbers each: the DCGAN discriminator's convolutional trunk (narrow) with
    its logit widened to ``outputs``. The network of the attribute classifier and of the yaw regressor
    (``experiments/pose.py``)."""

    def __init__(self, resolution: int, channels: int, outputs: int, width: int = 16):
        super().__init__()
        self.report: dict = {}  # held-out scores, filled when trained or loaded
        self.spec = ModelSpec(resolution=resolution, channels=channels, d_width=width)
        self.trunk = Discriminator(self.spec)
        self.trunk.blocks["logit"] = nn.Sequential(
            nn.Conv2d(self.spec.widths(width)[-1], outputs, 4, 1, 0), nn.Flatten(1)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.trunk(images)

    @torch.no_grad()
    def outputs(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """The network's outputs (N, outputs) in eval mode; images (N, C, H, W) in [-1, 1] at the size it was
        trained at."""
        want = (self.spec.channels, self.spec.resolution, self.spec.resolution)
        if images.dim() != 4 or tuple(images.shape[1:]) != want:
            raise DCGANError(
                f"the network was trained on images of shape {want}, not {tuple(images.shape[1:])}",
                "train it on data at the generator's resolution and channels",
            )
        was_training = self.training
        self.eval()
        out = torch.cat([self(chunk.float()) for chunk in images.split(batch_size)])
        self.train(was_training)
        return out


Net = TypeVar("Net", bound=TrunkNet)


class AttributeClassifier(TrunkNet):
    """Images in [-1, 1] -> one logit per attribute."""

    def __init__(self, resolution: int, channels: int, names: list[str], width: int = 16):
        super().__init__(resolution, channels, len(names), width)
        self.names = list(names)

    def predict(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """P(attribute) for each image (N, A); images (N, C, H, W) in [-1, 1] at the classifier's size."""
        return torch.sigmoid(self.outputs(images, batch_size))

    def table(self, names: list[str] | None = None) -> Table:
        """The held-out accuracy of every attribute (or of those of ``names`` it knows), from :attr:`report`."""
        per = self.report["attributes"]
        shown = list(per) if names is None else [name for name in names if name in per]
        columns = ["attribute", *next(iter(per.values()))]
        return Table(columns, [[name, *map(number, per[name].values())] for name in shown])


def run_images(checkpoint: str | Path, limit: int | None = None) -> ImageData:
    """The images a checkpoint's run trained on (its first ``limit``), loaded exactly as the run loaded them: the
    same path, crop, size and ``--where``, so a classifier learns from images framed like G's samples."""
    config = TrainConfig.from_dict(load_checkpoint(checkpoint).meta["config"])
    return load_training_data(config.updated(limit=limit or config.limit, progress=False))


def attribute_table(data: ImageData) -> tuple[torch.Tensor, list[str]]:
    """Binary targets (N, A) in {0, 1} and their names: the data's attributes, else one per class."""
    if data.attributes is not None:
        return (data.attributes > 0).float(), list(data.attribute_names)
    if data.labels is not None and len(data.class_names) >= 2:
        return F.one_hot(data.labels, len(data.class_names)).float(), list(data.class_names)
    raise DCGANError(
        f"{data.source or 'the data'} has neither attributes nor class labels",
        "train the classifier on labelled data (CelebA with its list_attr_celeba.txt, or class folders)",
    )


def train_classifier(
    data: ImageData,
    epochs: int = 3,
    batch_size: int = 64,
    lr: float = 1e-3,
    width: int = 16,
    holdout: float = 0.1,
    seed: int = 0,
    progress: bool = False,
    *,
    balance: bool = False,
    flip: bool = False,
    decay: bool = False,
    validate: bool = False,
) -> AttributeClassifier:
    """Fit on a seeded random ``1 - holdout`` of ``data``; ``clf.report`` gives accuracy on the rest.

    The report gives, per attribute, the held-out accuracy, the balanced accuracy (mean of the
    true-positive and true-negative rates: honest for rare attributes such as Eyeglasses) and
    the positive rate, so a reader can see which attributes the scores can be trusted for.
    The split is random because files are often sorted by class.

    ``balance`` weighs each attribute's positives by its negatives / positives among the training images, so a
    rare attribute (Eyeglasses: 1 face in 15) counts as much as a common one; ``flip`` mirrors a seeded half of
    each batch (faces' attributes do not depend on the side); ``decay`` lowers the learning rate to 0 along a
    cosine. ``validate`` is for choosing these: it trains on the training part less as many images as are held
    out and reports on those, so the held-out images are never looked at while choosing.
    """
    targets, names = attribute_table(data)
    order = seeded(seed)
    train_part, test_part = split_rows(len(data), holdout, batch_size, order, validate)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        clf = AttributeClassifier(data.resolution, data.channels, names, width)
    positives = targets[train_part].sum(0)
    weights = (len(train_part) - positives) / positives.clamp(min=1) if balance else None
    flips = seeded(seed + 1)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        images = to_unit_range(data.images[batch])
        if flip:
            images = mirror_some(images, flips)[0]
        return F.binary_cross_entropy_with_logits(clf(images), targets[batch], pos_weight=weights)

    fit(clf, train_part, batch_loss, epochs, batch_size, lr, order, "classifier", progress, decay)
    report = attribute_report(clf, to_unit_range(data.images[test_part]), targets[test_part])
    report["train_images"], report["test_images"], report["epochs"] = len(train_part), len(test_part), epochs
    report["training"] = {"balance": balance, "flip": flip, "decay": decay, "width": width, "lr": lr}
    report["split"] = "validation" if validate else "held out"
    clf.report = report
    return clf


def split_rows(
    count: int, holdout: float, batch_size: int, order: torch.Generator, validate: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices (training, held out) of ``count`` labelled images: a random ``holdout`` share drawn from
    ``order`` held out (random, because files are often sorted by class). With ``validate``, the held-out rows
    are left out altogether and as many of the training rows are held out in their place, for choosing settings
    without looking at the held-out images."""
    n_test = int(count * holdout)
    if count - (2 if validate else 1) * n_test < batch_size or n_test < 1:
        raise DCGANError(
            f"{count} images are too few to train and check a network on",
            f"give at least {batch_size + 10} labelled images",
        )
    shuffled = torch.randperm(count, generator=order)
    train_part, test_part = shuffled[n_test:], shuffled[:n_test]
    return (train_part[n_test:], train_part[:n_test]) if validate else (train_part, test_part)


def mirror_some(images: torch.Tensor, flips: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random half of ``images`` (N, C, H, W) mirrored left to right (augmentation), and which (N,) bools."""
    mirrored = torch.rand(len(images), generator=flips) < 0.5
    return torch.where(mirrored[:, None, None, None], images.flip(-1), images), mirrored


def attribute_report(clf: AttributeClassifier, images: torch.Tensor, targets: torch.Tensor) -> dict:
    """Accuracy, balanced accuracy and positive rate per attribute on labelled images."""
    guess = clf.predict(images) > 0.5
    truth = targets > 0.5
    per = {}
    for a, name in enumerate(clf.names):
        g, t = guess[:, a], truth[:, a]
        rates = [(g & t).sum() / t.sum() if t.any() else None, (~g & ~t).sum() / (~t).sum() if (~t).any() else None]
        rates = [float(r) for r in rates if r is not None]
        per[name] = {
            "accuracy": round(float((g == t).float().mean()), 4),
            "balanced_accuracy": round(sum(rates) / len(rates), 4),
            "positive_rate": round(float(t.float().mean()), 4),
        }
    return {"attributes": per}


def save_classifier(clf: AttributeClassifier, path: str | Path) -> Path:
    return save_trunk(clf, path, FORMAT, names=clf.names)


def load_classifier(path: str | Path) -> AttributeClassifier:
    return load_trunk(
        path,
        FORMAT,
        ("classifier", "an attribute classifier", "dcgan attribute-classifier"),
        lambda meta: AttributeClassifier(meta["resolution"], meta["channels"], meta["names"], meta["width"]),
    )


def save_trunk(net: TrunkNet, path: str | Path, fmt: str, **meta) -> Path:
    """A :class:`TrunkNet`'s weights in the one tensor container, with what rebuilds it (``meta`` and its size)
    and its report."""
    spec = net.spec
    meta = {"format": fmt, **meta, "resolution": spec.resolution, "channels": spec.channels, "width": spec.d_width}
    return save_tensors(path, net.state_dict(), meta | {"report": net.report})


def load_trunk(path: str | Path, fmt: str, names: tuple[str, str, str], build: Callable[[dict], Net]) -> Net:
    """The network ``build(meta)`` makes, with the weights and report of a file :func:`save_trunk` wrote, in eval
    mode; ``names``: what it is (short, and with its article) and the command that writes it, for the errors."""
    short, long, command = names
    path = Path(path).expanduser()
    if not path.is_file():
        raise DCGANError(f"{short} {path} does not exist", f"train one with {command}")
    tensors, meta = load_tensors(path, f"is not {long}", f"pass a file written by {command}", fmt=fmt)
    net = build(meta)
    net.load_state_dict(tensors)
    net.report = meta.get("report", {})
    return net.eval()


class NoExemplarsError(DCGANError):
    """Too few samples are scored as a condition to pick its exemplars: for a recipe a result (G rarely draws
    the attribute, e.g. glasses), reported as such; for a command the usual one-line error."""


@dataclass(frozen=True)
class Condition:
    """A conjunction of attributes, each wanted present or absent: ``Smiling&!Male``."""

    literals: tuple[tuple[str, bool], ...]

    @classmethod
    def parse(cls, text: str, names: list[str]) -> Condition:
        literals = []
        for part in text.split("&"):
            match = re.fullmatch(r"\s*(!?)\s*([\w.-]+)\s*", part)
            if not match:
                raise DCGANError(
                    f"cannot read the attribute condition {text!r}", "write names joined by &, with ! for 'not'"
                )
            if match[2] not in names:
                raise DCGANError(
                    f"unknown attribute {match[2]!r} in {text!r}", f"the classifier knows: {', '.join(names)}"
                )
            literals.append((match[2], not match[1]))
        return cls(tuple(literals))

    def __str__(self) -> str:
        return "&".join(("" if want else "!") + name for name, want in self.literals)

    def literal_scores(self, probs: torch.Tensor, names: list[str]) -> torch.Tensor:
        """P(each literal holds) per image, (N, L)."""
        cols = [probs[:, names.index(name)] for name, _ in self.literals]
        return torch.stack([p if want else 1 - p for p, (_, want) in zip(cols, self.literals, strict=True)], 1)

    def holds(self, probs: torch.Tensor, names: list[str]) -> torch.Tensor:
        """Whether the classifier recognises every literal (P > 0.5), per image."""
        return (self.literal_scores(probs, names) > 0.5).all(1)

    def recognition(self, probs: torch.Tensor, names: list[str]) -> dict[str, float]:
        """Fraction of images in which the whole condition, and each literal alone, is recognised."""
        literal = self.literal_scores(probs, names) > 0.5
        out = {str(self): float(literal.all(1).float().mean())}
        out |= {("" if w else "!") + n: float(literal[:, i].float().mean()) for i, (n, w) in enumerate(self.literals)}
        return out

    def pick(self, probs: torch.Tensor, names: list[str], k: int, groups: int = 1) -> torch.Tensor:
        """Indices (groups, k) of the most confident matches (ranked by their weakest literal), best first."""
        scores = self.literal_scores(probs, names).min(1).values
        ranked = scores.argsort(descending=True, stable=True)
        ranked = ranked[scores[ranked] > 0.5]
        if len(ranked) < k * groups:
            raise NoExemplarsError(
                f"only {len(ranked)} of {len(probs)} samples are scored {self}, {k * groups} needed",
                "sample a larger pool (--pool), or ask for fewer exemplars or trials",
            )
        return ranked[: k * groups].reshape(groups, k)


def pick_exemplars(
    G: Generator, clf: AttributeClassifier, conditions: dict[str, str], pool: torch.Tensor, k: int = 3, groups: int = 1
) -> dict[str, torch.Tensor]:
    """For each named condition, the z (groups, k, nz) of the pool samples most confidently scored so.

    Groups are disjoint (ranks 0..k-1 form the first, and so on), so repeated trials never
    share an exemplar.
    """
    probs = torch.cat([clf.predict(render(G, chunk)) for chunk in pool.split(1024)])  # large pools: bounded memory
    return {
        name: pool[Condition.parse(text, clf.names).pick(probs, clf.names, k, groups)]
        for name, text in conditions.items()
    }


def is_z_ref(value: str) -> bool:
    """A z file (``f.safetensors``, ``f.safetensors#0,1``) as opposed to an attribute condition (``Smiling&!Male``)."""
    return ".safetensors" in value


def exemplar_sets(
    G: Generator,
    noise: str,
    values: dict[str, str],
    *,
    classifier: AttributeClassifier | None = None,
    k: int = 3,
    pool: int = 2000,
    seed: int = 0,
    groups: int = 1,
) -> dict[str, torch.Tensor]:
    """Each named value -> z (groups, k, nz): z cells read from a file, or samples the classifier scores so.

    A condition's exemplars are picked from a pool of ``pool`` samples of G drawn with ``seed``
    from the z distribution ``noise``; ``groups`` disjoint sets are picked for repeated trials.
    """
    found = {name: load_z(v)[None] for name, v in values.items() if is_z_ref(v)}
    conditions = {name: v for name, v in values.items() if not is_z_ref(v)}
    if found and groups > 1:
        raise DCGANError("--trials above 1 needs every exemplar set given as an attribute condition", "drop --trials")
    if conditions:
        if k < 1 or pool < 1:
            raise DCGANError("--exemplars and --pool must be at least 1")
        if classifier is None:
            raise DCGANError(
                "attribute conditions need an attribute classifier",
                "pass --classifier (see dcgan attribute-classifier)",
            )
        z_pool = sample_noise(pool, G.spec.nz, noise, seeded(seed))
        found |= pick_exemplars(G, classifier, conditions, z_pool, k, groups)
    nz = {z.shape[-1] for z in found.values()}
    if nz != {G.spec.nz}:
        raise DCGANError(f"the z given have length {sorted(nz)}, but the generator takes {G.spec.nz}")
    return found


def check_expect(classifier: AttributeClassifier | None, expect: str | None) -> None:
    """Refuse, before any work, an outcome to measure (``--expect``) without a classifier or naming an attribute
    the classifier does not know."""
    if expect is None:
        return
    if classifier is None:
        raise DCGANError(
            "attribute conditions and --expect need an attribute classifier",
            "pass --classifier (see dcgan attribute-classifier)",
        )
    Condition.parse(expect, classifier.names)
