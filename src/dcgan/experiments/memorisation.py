"""Does G copy its training set? Nearest training images of generated samples (the paper's section 4.1).

Search is exact: squared distances come from the matrix-product identity
|q - r|^2 = |q|^2 - 2 q.r + |r|^2 over chunks of the training set, whose features are extracted
one chunk at a time (:class:`ImageFeatures`: a set of millions of images needs no more memory
than one chunk), a few best candidates per query are kept, and those are re-ranked by distances
computed directly, which removes the identity's rounding error.

The verdict compares two distributions of nearest distances to the training set: of
generated samples, and of held-out real images (images the reference set does not contain).
A model that copies its training images puts generated samples much closer to the training
set than new real images are; one that does not puts them about as far or farther.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..core.features import Extractor
from ..core.images import labelled_rows, to_uint8_tensor, to_unit_range
from ..core.models import Discriminator, Generator
from ..core.pages import release, release_rows
from ..core.plotting import pyplot
from ..core.progress import tracked
from ..core.sampling import at_class, render, sample_noise, seeded
from ..errors import DCGANError
from .features import conv_layers, discriminator_extractor, extract, pixel_extractor
from .tables import Table

CANDIDATES = 8  # per query, re-ranked exactly
RERANK_QUERIES = 64  # queries re-ranked together: 64 x 8 candidates of 64x64 RGB pixels are 25 MB


class ImageFeatures:
    """The features of ``images`` (of its ``rows`` only, if given), extracted when a part of them is read:
    :func:`nearest` then searches a set of any size holding one chunk's features at a time."""

    def __init__(self, extractor: Extractor, images: torch.Tensor, rows: torch.Tensor | None = None):
        self.extractor, self.images, self.rows = extractor, images, rows

    def __len__(self) -> int:
        return len(self.images if self.rows is None else self.rows)

    def __getitem__(self, index: slice | np.ndarray) -> torch.Tensor:
        rows = index if self.rows is None else self.rows[index]
        features = torch.from_numpy(extract(self.extractor, self.images[rows], progress=False))
        release_rows(self.images, rows)  # a memory-mapped set's rows leave the resident set once read
        return features


def nearest(
    queries: torch.Tensor, references, k: int = 1, chunk: int = 4096, progress: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest references (Euclidean) of each query: distances and indices, both (Q, k), closest first.

    ``queries`` (Q, D) and ``references`` (R, D) are flattened to vectors; references may be a
    memory map or :class:`ImageFeatures`, read chunk by chunk.
    """
    queries = queries.flatten(1).float()
    keep = min(max(k, CANDIDATES), len(references))
    q_norms = queries.square().sum(1, keepdim=True)
    best_d = torch.full((len(queries), 0), float("inf"))
    best_i = torch.zeros((len(queries), 0), dtype=torch.long)
    chunks = range(0, len(references), chunk)
    for start in tracked(chunks, len(chunks), "nearest", progress, "chunk"):
        part = references[start : start + chunk]
        refs = torch.as_tensor(part).flatten(1).float()
        d = q_norms - 2 * queries @ refs.T + refs.square().sum(1)
        best_d = torch.cat([best_d, d], 1)
        best_i = torch.cat([best_i, torch.arange(start, start + len(refs)).expand(len(queries), -1)], 1)
        best_d, order = best_d.topk(min(keep, best_d.shape[1]), dim=1, largest=False)
        best_i = best_i.gather(1, order)
        release(part)  # a memory-mapped set's rows leave the resident set once searched
    exact = torch.empty(best_i.shape)
    for start in range(0, len(queries), RERANK_QUERIES):  # a block of queries' candidates at a time
        rows = best_i[start : start + RERANK_QUERIES]
        candidates = torch.as_tensor(references[rows.flatten().numpy()]).flatten(1).float()
        block = candidates.reshape(*rows.shape, -1) - queries[start : start + RERANK_QUERIES, None]
        exact[start : start + RERANK_QUERIES] = block.square().sum(-1).sqrt()
    exact, order = exact.sort(dim=1, stable=True)
    return exact[:, :k], best_i.gather(1, order)[:, :k]


@dataclass
class NearestDistances:
    """Nearest-training-image distances of generated samples and of held-out real images, in one space."""

    space: str
    generated: torch.Tensor  # (G,)
    held_out: torch.Tensor  # (H,)

    def summary(self) -> dict[str, float]:
        """``median_ratio``: generated median / held-out median (about 1 or more: no copying; far below 1:
        copying). ``closer_than_p1``: fraction of generated samples nearer than the 1% nearest held-out images
        (about 0.01 or less expected; a copier's samples sit near zero distance, so this grows towards 1)."""
        p1 = float(torch.quantile(self.held_out, 0.01))
        return {
            "median_generated": float(self.generated.median()),
            "median_held_out": float(self.held_out.median()),
            "median_ratio": float(self.generated.median() / self.held_out.median()),
            "closer_than_p1": float((self.generated < p1).float().mean()),
        }


def split_held_out(count: int, held_out: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random ``held_out`` of ``count`` images, and the rest (the reference set), as index tensors."""
    if not 0 < held_out < count:
        raise DCGANError(f"cannot hold out {held_out} of {count} images", f"hold out between 1 and {count - 1}")
    order = torch.randperm(count, generator=seeded(seed))
    return order[:held_out].sort().values, order[held_out:].sort().values


@dataclass
class Memorisation:
    """The check's result: distances in each space, the shown samples and their nearest training images."""

    distances: list[NearestDistances]
    samples: torch.Tensor  # (show, C, H, W) in [-1, 1]
    neighbours: dict[str, torch.Tensor]  # space -> (show, k, C, H, W) in [-1, 1]
    references: int = 0  # training images searched

    def summary(self) -> dict[str, dict]:
        return {
            d.space: {"generated": len(d.generated), "held_out": len(d.held_out), **d.summary()} for d in self.distances
        }

    def to_dict(self) -> dict[str, dict]:
        return self.summary()

    def table(self) -> Table:
        columns = ["space", "median generated", "median held-out", "ratio", "closer than held-out 1%"]
        rows = [
            [space, f"{v['median_generated']:.3f}", f"{v['median_held_out']:.3f}", f"{v['median_ratio']:.2f}",
             f"{v['closer_than_p1']:.3f}"]
            for space, v in self.summary().items()
        ]  # fmt: skip
        return Table(columns, rows)

    def montage(self) -> Image.Image:
        return montage(self.samples, self.neighbours)

    def plot_distances(self, path: str | Path) -> Path:
        distance_plot(self.distances, path)
        return Path(path)


def memorisation_check(
    G: Generator,
    D: Discriminator | None,
    training: torch.Tensor,
    held_out: torch.Tensor | int,
    samples: int = 500,
    show: int = 16,
    k: int = 3,
    seed: int = 0,
    noise: str = "normal",
    progress: bool = False,
    label: int | None = None,
) -> Memorisation:
    """Nearest training images (uint8 ``training``) of ``samples`` G samples and of held-out real images:
    ``held_out`` images, or that many random images of ``training`` (drawn with ``seed``) left out of the
    reference set (selected, not copied: a memory-mapped set stays on disk).

    Two spaces: pixels in [-1, 1] and D's last convolutional layer max-pooled to 4x4 (the
    features of section 5, from this checkpoint's own D; pixels only without ``D``, as for a
    generator-only file). The first ``show`` samples and their ``k`` nearest training images in
    each space make the montage. A class-conditional G draws its samples at one class, ``label``, and its D
    sees every image (samples, training and held-out ones) as that class: one feature map for all, so their
    distances compare.
    """
    G, D = at_class(G, label), None if D is None else at_class(D, label)
    if samples < 1 or not 0 <= show <= samples or k < 1:
        raise DCGANError("need at least 1 sample, 1 neighbour, and no more samples shown than drawn")
    training_rows = None
    if isinstance(held_out, int):
        held, training_rows = split_held_out(len(training), held_out, seed)
        held_out = training[held]
    generated = to_uint8_tensor(render(G, sample_noise(samples, G.spec.nz, noise, seeded(seed))))
    spec = G.spec
    extractors = {"pixels": pixel_extractor(spec.resolution, spec.channels)}
    if D is not None:
        extractors["D features"] = discriminator_extractor(D, conv_layers(D)[-1:])
    distances, neighbours = [], {}
    for space, extractor in extractors.items():
        # one pass over the reference set answers both the generated samples and the held-out images
        queries = torch.cat([torch.from_numpy(extract(extractor, x, progress=False)) for x in (generated, held_out)])
        references = ImageFeatures(extractor, training, training_rows)
        found_d, found_i = nearest(queries, references, k, chunk=1024, progress=progress)  # 50 MB of 64x64 pixels
        distances.append(NearestDistances(space, found_d[:samples, 0], found_d[samples:, 0]))
        shown = found_i[:show] if training_rows is None else training_rows[found_i[:show]]
        neighbours[space] = to_unit_range(training[shown])
    references = len(training if training_rows is None else training_rows)
    return Memorisation(distances, to_unit_range(generated[:show]), neighbours, references)


def montage(samples: torch.Tensor, neighbours: dict[str, torch.Tensor]) -> Image.Image:
    """One row per generated sample: the sample, then its nearest training images in each space.

    ``samples`` (N, C, H, W) and each ``neighbours[space]`` (N, k, C, H, W), all in [-1, 1].
    """
    spaces = list(neighbours)
    rows = [
        (f"#{i}: {' | '.join(spaces)}", torch.cat([samples[i : i + 1], *(neighbours[s][i] for s in spaces)]))
        for i in range(len(samples))
    ]
    return labelled_rows(rows)


def distance_plot(results: list[NearestDistances], path) -> None:
    """Histograms of generated vs held-out nearest distances, one panel per space."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.5), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        both = torch.cat([result.generated, result.held_out])
        bins = np.linspace(0, float(both.max()) * 1.02, 40)
        ax.hist(result.held_out.numpy(), bins, alpha=0.6, density=True, label="held-out real")
        ax.hist(result.generated.numpy(), bins, alpha=0.6, density=True, label="generated")
        ax.set_title(f"{result.space}: median ratio {result.summary()['median_ratio']:.2f}")
        ax.set_xlabel("distance to the nearest training image")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
