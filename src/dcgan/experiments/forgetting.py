"""Forgetting to draw an object (the paper's section 6.3.1, figure 6), and the boxes file it reads.

The user marks boxes around an object (windows, eyeglasses, smiles) on cells of a sample
sheet. A logistic regression on the activations of G's second-highest convolutional layer
separates positions inside the boxes (positives) from positions sampled outside them on the
same images (negatives); the feature maps with positive weight are taken as the object's
maps, and the same z are drawn again with those maps zeroed at every position.

The boxes file (this module owns its format) is JSON::

    {"object": "eyeglasses", "boxes": {"3": [[x0, y0, x1, y1]], "12": [[...], [...]]}}

keyed by sheet cell, each box in pixels of the generated image: (x0, y0) is the top-left
corner, included, (x1, y1) the bottom-right, excluded, so 0 <= x0 < x1 <= resolution.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core.images import labelled_rows
from ..core.models import Generator
from ..core.sampling import at_class, render, sample_noise, seeded
from ..errors import DCGANError
from .attributes import AttributeClassifier, Condition
from .tables import Table

Box = tuple[int, int, int, int]
BOXES_FIX = 'write {"boxes": {"CELL": [[x0, y0, x1, y1], ...]}} with cells of the sheet and pixels of its images'


def load_boxes(path: str | Path, cells: int, resolution: int) -> dict[int, list[Box]]:
    """The boxes of ``path`` by cell, checked against a sheet of ``cells`` images of ``resolution`` pixels."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DCGANError(f"boxes file {path} does not exist", BOXES_FIX)
    try:
        raw = json.loads(path.read_text() or "{}").get("boxes") or {}
    except (json.JSONDecodeError, AttributeError) as exc:
        raise DCGANError(f"{path} is not a boxes file ({exc})", BOXES_FIX) from None
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise DCGANError(f'{path}: "boxes" must map each cell to a list of boxes', BOXES_FIX)
    boxes: dict[int, list[Box]] = {}
    for key, cell_boxes in raw.items():
        cell = int(key) if str(key).isdigit() else -1
        if not 0 <= cell < cells:
            raise DCGANError(f"{path}: cell {key!r} is not on the sheet (cells 0-{cells - 1})", BOXES_FIX)
        for box in cell_boxes:
            if not _valid_box(box, resolution):
                raise DCGANError(
                    f"{path}: box {box} of cell {cell} is empty or outside the {resolution}x{resolution} image",
                    "give each box as [x0, y0, x1, y1] with 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size",
                )
            boxes.setdefault(cell, []).append(tuple(int(v) for v in box))
    if not boxes:
        raise DCGANError(f"{path} holds no boxes", BOXES_FIX)
    return boxes


def _valid_box(box, resolution: int) -> bool:
    if not isinstance(box, list) or len(box) != 4 or not all(type(v) is int for v in box):  # no bools, floats
        return False
    x0, y0, x1, y1 = box
    return 0 <= x0 < x1 <= resolution and 0 <= y0 < y1 <= resolution


def box_masks(boxes: list[list[Box]], resolution: int, size: int) -> torch.Tensor:
    """(N, size, size) bool: the positions of a size x size layer whose centre lies in one of each image's boxes."""
    centres = (torch.arange(size) + 0.5) * (resolution / size)
    masks = torch.zeros(len(boxes), size, size, dtype=torch.bool)
    for i, image_boxes in enumerate(boxes):
        for x0, y0, x1, y1 in image_boxes:
            rows = (centres >= y0) & (centres < y1)
            cols = (centres >= x0) & (centres < x1)
            masks[i] |= rows[:, None] & cols[None, :]
    return masks


def object_layer(G: Generator) -> str:
    """G's second-highest convolutional layer: the last block before ``to_image``."""
    return list(G.blocks)[-2]


@torch.no_grad()
def layer_activations(G: Generator, z: torch.Tensor, layer: str) -> torch.Tensor:
    """The output (N, C, H, W) of G's block ``layer`` for each z, BatchNorm in eval mode."""
    was_training = G.training
    G.eval()
    acts = G.features(z, upto=layer)[layer].float()
    G.train(was_training)
    return acts


def select_object_maps(
    acts: torch.Tensor, masks: torch.Tensor, seed: int = 0, most: int | None = None
) -> tuple[np.ndarray, list[int]]:
    """Logistic regression of in-box positions against as many random positions outside; maps with weight > 0.

    ``acts`` (N, C, H, W) and ``masks`` (N, H, W) of the same images. Returns every map's weight and the
    selected maps: all with positive weight (the paper's rule) or, with ``most``, at most that many of them,
    the largest weights first.
    """
    features = acts.permute(0, 2, 3, 1).reshape(-1, acts.shape[1]).numpy()
    inside = masks.reshape(-1).numpy()
    positives, outside = np.flatnonzero(inside), np.flatnonzero(~inside)
    if len(positives) == 0 or len(outside) == 0:
        raise DCGANError(
            f"the boxes cover {'no' if len(positives) == 0 else 'every'} position of the {acts.shape[-1]}x"
            f"{acts.shape[-1]} layer",
            "draw boxes at least two layer positions wide, and not over whole images",
        )
    negatives = np.random.default_rng(seed).choice(outside, min(len(positives), len(outside)), replace=False)
    x = np.concatenate([features[positives], features[negatives]])
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    from sklearn.linear_model import LogisticRegression  # on first use: scikit-learn takes a second to import

    weights = LogisticRegression(max_iter=2000).fit(x, y).coef_[0]
    positive = np.flatnonzero(weights > 0)
    if most is not None:
        positive = np.sort(positive[np.argsort(-weights[positive], kind="stable")[:most]])
    return weights, positive.tolist()


@contextmanager
def drop_maps(G: Generator, layer: str, maps: list[int]) -> Iterator[Generator]:
    """Within the block, block ``layer`` of G outputs zeros in ``maps`` at every position, the rest unchanged."""

    def zero(module, inputs, output):
        output = output.clone()
        output[:, maps] = 0
        return output

    handle = G.blocks[layer].register_forward_hook(zero)
    try:
        yield G
    finally:
        handle.remove()


@dataclass
class Forgetting:
    """One run of figure 6: the maps dropped, the images before and after, and what changed."""

    layer: str
    weights: np.ndarray
    dropped: list[int]
    before: torch.Tensor  # G(z) of the boxed cells
    after: torch.Tensor  # the same z with the maps dropped
    activation: dict[str, float]  # mean activation of the layer inside/outside the boxes, before/after
    detection: dict[str, dict] = field(default_factory=dict)  # condition -> :func:`detection_rates`, if measured

    def figure(self, show: int | None = None) -> Image.Image:
        """Figure 6's two rows: the first ``show`` boxed cells (all by default), then the same z without the maps."""
        return labelled_rows(
            [("samples", self.before[:show]), (f"{len(self.dropped)} maps dropped", self.after[:show])]
        )

    def summary(self) -> dict:
        detection = {"detection": self.detection} if self.detection else {}
        return {
            "layer": self.layer,
            "maps": len(self.weights),
            "dropped": len(self.dropped),
            "dropped_maps": self.dropped,
            "activation": self.activation,
            **detection,
        }

    def to_dict(self) -> dict:
        return self.summary()

    def table(self, condition: str, what: str) -> Table:
        """How often ``condition`` was recognised: as drawn, with the ``what`` maps dropped, with random ones (their
        mean, then each draw: how much one random choice of maps varies)."""
        rates = self.detection[condition]
        each = rates["after_random_maps_each"]
        columns = ["as drawn", f"{rates['maps_dropped']} {what} maps dropped", "as many random maps dropped"]
        columns.append(f"each of the {len(each)} random draws")
        row = [f"{rates[key]:.3f}" for key in ("before", "after", "after_random_maps")]
        return Table(columns, [[*row, ", ".join(f"{r:.3f}" for r in each)]])


def forget(
    G: Generator, z: torch.Tensor, boxes: dict[int, list[Box]], seed: int = 0, most: int | None = None
) -> Forgetting:
    """Fit the object's maps on the boxed cells of ``z`` (rows of a sheet), drop them and draw the cells again.

    ``most`` caps the maps dropped (the largest positive weights); by default every positive one goes.
    """
    layer = object_layer(G)
    cells = sorted(boxes)
    acts = layer_activations(G, z[cells], layer)
    masks = box_masks([boxes[c] for c in cells], G.spec.resolution, acts.shape[-1])
    weights, dropped = select_object_maps(acts, masks, seed, most)
    with drop_maps(G, layer, dropped):
        acts_after = layer_activations(G, z[cells], layer)
        after = render(G, z[cells])
    activation = {
        f"{where}_{when}": float(a.mean(1)[m].mean())
        for when, a in (("before", acts), ("after", acts_after))
        for where, m in (("inside", masks), ("outside", ~masks))
    }
    return Forgetting(layer, weights, dropped, render(G, z[cells]), after, activation)


def forgetting_experiment(
    G: Generator,
    z: torch.Tensor,
    boxes: dict[int, list[Box]],
    *,
    seed: int = 0,
    most: int | None = None,
    classifier: AttributeClassifier | None = None,
    detect: str | None = None,
    held_out: int = 300,
    noise: str = "normal",
    label: int | None = None,
) -> Forgetting:
    """Figure 6 (:func:`forget`) on the boxed cells of the sheet ``z`` and, with a ``classifier``, how often it
    recognises the object (``detect``, a condition) on ``held_out`` fresh samples drawn with ``seed`` from the
    z distribution ``noise``: as drawn, with the maps dropped, and with as many random maps dropped.
    A class-conditional G draws every image at one class, ``label`` (the sheet's, so the boxes fit)."""
    G = at_class(G, label)
    if classifier is not None:  # checked before the work: an unknown attribute or a classifier of another size
        Condition.parse(detect, classifier.names)
        if (classifier.spec.channels, classifier.spec.resolution) != (G.spec.channels, G.spec.resolution):
            raise DCGANError(
                f"the classifier sees {classifier.spec.resolution}px images of {classifier.spec.channels} channels,"
                f" the generator draws {G.spec.resolution}px of {G.spec.channels}",
                "train it with dcgan attribute-classifier --checkpoint of this run",
            )
    result = forget(G, z, boxes, seed, most)
    if classifier is not None:
        fresh = sample_noise(held_out, G.spec.nz, noise, seeded(seed))
        result.detection[detect] = detection_rates(G, classifier, detect, fresh, result.layer, result.dropped, seed)
    return result


def detection_rates(
    G: Generator,
    clf: AttributeClassifier,
    condition: str,
    z: torch.Tensor,
    layer: str,
    dropped: list[int],
    seed: int = 0,
    draws: int = 5,
) -> dict[str, float | list[float]]:
    """How often ``condition`` (e.g. ``Smiling``) is recognised on G(z): as drawn, with the ``dropped`` maps
    zeroed, and, as a control, with as many maps of ``layer`` chosen at random zeroed instead (``draws``
    seeded draws: their mean and each rate).

    The control tells a specific effect (the object goes, the rest stays) from plain damage: dropping any
    that many maps may change what the classifier sees, and one draw alone varies a lot.
    """
    parsed = Condition.parse(condition, clf.names)

    def rate(zeroed: list[int]) -> float:
        with drop_maps(G, layer, zeroed):
            return float(parsed.holds(clf.predict(render(G, z)), clf.names).float().mean())

    maps, rng = layer_activations(G, z[:1], layer).shape[1], np.random.default_rng(seed)
    random_rates = [rate(np.sort(rng.choice(maps, len(dropped), replace=False)).tolist()) for _ in range(draws)]
    return {
        "samples": len(z),
        "maps_dropped": len(dropped),
        "before": rate([]),
        "after": rate(dropped),
        "after_random_maps": float(np.mean(random_rates)),
        "after_random_maps_each": random_rates,
    }


def _random_maps(G: Generator, layer: str, count: int, rng: np.random.Generator) -> list[int]:
    maps = layer_activations(G, torch.zeros(1, G.spec.nz), layer).shape[1]
    return np.sort(rng.choice(maps, count, replace=False)).tolist()


def change_inside_boxes(
    G: Generator, z: torch.Tensor, boxes: dict[int, list[Box]], seed: int = 0, most: int | None = None, draws: int = 5
) -> dict[str, dict[str, float]]:
    """Where dropping the object's maps changes the picture, measured on boxed cells the maps were not fitted on.

    The boxed cells are split in two halves; the maps fitted on one half are dropped on the other (and the
    other way round). The mean absolute pixel change ([0, 1] pixels) inside the boxes against outside them,
    for the object's maps and for as many random maps (``draws`` seeded draws), tells an object removed
    from where it was drawn from damage spread over the whole image.
    """
    cells = sorted(boxes)
    if len(cells) < 2:
        raise DCGANError("measuring the change needs at least 2 boxed cells", "box the object on more samples")
    layer, rng = object_layer(G), np.random.default_rng(seed)
    sums = {kind: {"inside": 0.0, "outside": 0.0, "maps": 0.0} for kind in ("object maps", "random maps")}
    for fit, measure in ((cells[::2], cells[1::2]), (cells[1::2], cells[::2])):
        dropped = forget(G, z, {c: boxes[c] for c in fit}, seed, most).dropped
        masks = box_masks([boxes[c] for c in measure], G.spec.resolution, G.spec.resolution)
        before = render(G, z[measure])
        chosen = {
            "object maps": [dropped],
            "random maps": [_random_maps(G, layer, len(dropped), rng) for _ in range(draws)],
        }
        for kind, map_sets in chosen.items():
            for maps in map_sets:
                with drop_maps(G, layer, maps):
                    change = (render(G, z[measure]) - before).abs().mean(dim=1) / 2  # [-1, 1] -> [0, 1] pixels
                share = len(measure) / len(cells) / len(map_sets)
                sums[kind]["inside"] += float(change[masks].mean()) * share
                sums[kind]["outside"] += float(change[~masks].mean()) * share
                sums[kind]["maps"] += len(maps) * share
    return {kind: {**v, "ratio": v["inside"] / max(v["outside"], 1e-12)} for kind, v in sums.items()}


BLIND_VERSIONS = ("as drawn", "object maps dropped", "random maps dropped")


def blind_sheet(
    G: Generator, z: torch.Tensor, layer: str, dropped: list[int], seed: int = 0
) -> tuple[torch.Tensor, list[tuple[int, str]]]:
    """Every z drawn three ways (:data:`BLIND_VERSIONS`; the random maps as many as ``dropped``), the 3N images
    in a seeded random order: a sheet on which a person counts the object without knowing which image is
    which. Returns the images and, per position, (sample, version): the key that unblinds the count."""
    rng = np.random.default_rng(seed)
    versions = {"as drawn": [], "object maps dropped": dropped, "random maps dropped": []}
    versions["random maps dropped"] = _random_maps(G, layer, len(dropped), rng)
    drawn = {}
    for name, maps in versions.items():
        with drop_maps(G, layer, maps):
            drawn[name] = render(G, z)
    key = [(i, name) for i in range(len(z)) for name in BLIND_VERSIONS]
    key = [key[j] for j in rng.permutation(len(key))]
    return torch.stack([drawn[name][i] for i, name in key]), key


def unblind(key: list[tuple[int, str]], seen: list[int]) -> dict[str, float]:
    """The share of each version's images in which the object was seen: ``seen`` lists the sheet positions
    (0-based) where the counter saw it."""
    marked = set(seen)
    counts = {
        name: [pos in marked for pos, (_, version) in enumerate(key) if version == name] for name in BLIND_VERSIONS
    }
    return {name: sum(hits) / len(hits) for name, hits in counts.items()}
