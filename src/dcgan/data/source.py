"""A dataset before decoding, and the one loop that decodes it into an array.

Every reader (IDX, CIFAR, SVHN, CelebA, LSUN, image folders) describes its data as a
:class:`Source`: how many images, their labels/attributes/landmarks, and a function that decodes any
list of them at the target size. :func:`decode_into` then fills an in-memory array or a
memory-mapped ``.npy`` in parallel chunks, so loading and ``dcgan prepare`` share one path
and a prepared set larger than RAM is written without ever being held in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..core.progress import progress_bar
from ..errors import DCGANError, warn
from .options import format_where

CHUNK = 256  # images per task: large enough to amortise scheduling, small enough for a smooth progress bar

# What travels with the images row for row (each named by its list of names): every selection of rows
# (subset, --where, --limit, unreadable images dropped, dedup) and every prepared set carries all of them.
ROW_FIELDS = {"labels": "class_names", "attributes": "attribute_names", "landmarks": "landmark_names"}


def rows_of(owner: object, rows: np.ndarray | torch.Tensor) -> dict:
    """The ``ROW_FIELDS`` of ``owner`` (a Source or ImageData) at ``rows``; None stays None."""
    return {name: None if (values := getattr(owner, name)) is None else values[rows] for name in ROW_FIELDS}


# Decodes images [indices] to (C, H, W) uint8 arrays, or to a "name: reason" string for each unreadable one.
Decoder = Callable[[Sequence[int]], list["np.ndarray | str"]]


@dataclass
class Source:
    """How many images a dataset has, what travels with them, and how to decode them."""

    count: int
    resolution: int
    channels: int
    decode: Decoder
    labels: np.ndarray | None = None  # (count,) int64
    class_names: list[str] = field(default_factory=list)
    attributes: np.ndarray | None = None  # (count, A) int8 in {-1, 1}
    attribute_names: list[str] = field(default_factory=list)
    landmarks: np.ndarray | None = None  # (count, P, 2) float32 (x, y) fractions of the returned image's side
    landmark_names: list[str] = field(default_factory=list)
    description: str = ""

    def subset(self, keep: np.ndarray) -> Source:
        """The images at the indices ``keep`` (in that order)."""
        keep = np.asarray(keep, dtype=np.int64)
        decode = self.decode
        return replace(
            self,
            count=len(keep),
            decode=lambda indices: decode(keep[np.asarray(indices, dtype=np.int64)].tolist()),
            **rows_of(self, keep),
        )

    def where(self, conditions: dict[str, int]) -> Source:
        """Only the images whose attributes equal ``conditions`` (e.g. {"Smiling": 1, "Male": -1})."""
        if not conditions:
            return self
        return self.subset(matching(self.attributes, self.attribute_names, conditions, self.description))

    def limited(self, limit: int | None, held_out: bool = False) -> Source:
        """``limit`` images, or with ``held_out`` the others: see :func:`selected_rows`."""
        rows = selected_rows(self.labels, self.count, limit, held_out, self.class_names)
        return self if rows is None else self.subset(rows)


LIMIT_SEED = 0  # the subset is part of what a run trained on: the same --limit always picks the same images


def limit_rows(labels: np.ndarray | None, count: int, limit: int, class_names: Sequence[str] = ()) -> np.ndarray:
    """Sorted indices of a fixed random ``limit`` of ``count`` rows, each class keeping its share.

    Random, because files are often sorted by class (the first N of a sorted folder may be one
    class); stratified, so a small limit still sees every class in its proportion (largest
    remainders round the shares). Warns when the limit is too small for some class to appear.
    """
    rng = np.random.default_rng(LIMIT_SEED)
    if labels is None or limit >= count:
        return np.sort(rng.permutation(count)[:limit])
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * limit / count
    shares = np.floor(exact).astype(np.int64)
    shares[np.argsort(shares - exact, kind="stable")[: limit - shares.sum()]] += 1
    picked = [rng.permutation(np.flatnonzero(labels == c))[:n] for c, n in zip(classes, shares, strict=True)]
    lost = [class_names[c] if c < len(class_names) else str(c) for c, n in zip(classes, shares, strict=True) if n == 0]
    if lost:
        warn(
            f"--limit {limit} leaves out {len(lost)} class(es): {', '.join(lost[:10])}",
            f"raise --limit to at least {int(np.ceil(count / counts.min()))} to keep every class",
        )
    return np.sort(np.concatenate(picked))


def selected_rows(
    labels: np.ndarray | None, count: int, limit: int | None, held_out: bool, class_names: Sequence[str] = ()
) -> np.ndarray | None:
    """The rows ``--limit`` keeps (None: all of them), or with ``--held-out`` the rows it leaves out.

    The rows a ``--limit N`` run never saw are a held-out set of the same source: memorisation
    checks and quality scores against them are not flattered by images G was trained on.
    """
    if limit is None or (limit >= count and not held_out):
        return None
    kept = limit_rows(labels, count, limit, class_names)
    if not held_out:
        return kept
    if limit >= count:
        raise DCGANError(
            f"--held-out with --limit {limit} leaves no image: the source has only {count}",
            f"give a --limit below {count}",
        )
    return np.setdiff1d(np.arange(count), kept)


def matching(
    attributes: np.ndarray | None, names: list[str], conditions: dict[str, int], description: str
) -> np.ndarray:
    """Indices of the rows of ``attributes`` that equal ``conditions``; errors name the fix."""
    if attributes is None:
        raise DCGANError(
            f"--where filters by attributes, but {description} has none",
            "use it with a source that has attributes, such as CelebA",
        )
    unknown = sorted(set(conditions) - set(names))
    if unknown:
        raise DCGANError(f"unknown attribute(s) {', '.join(unknown)} in --where", f"choose from {', '.join(names)}")
    mask = np.ones(len(attributes), dtype=bool)
    for name, value in conditions.items():
        mask &= attributes[:, names.index(name)] == value
    if not mask.any():
        raise DCGANError(f"no image of {description} matches --where {format_where(conditions)}")
    return np.flatnonzero(mask)


def decode_into(
    source: Source, out: np.ndarray, skip_bad: bool, progress: bool = False, workers: int | None = None
) -> np.ndarray:
    """Decode every image of ``source`` into ``out`` (N, C, H, W); returns the indices kept.

    Threads write disjoint rows of ``out`` directly (Pillow and numpy release the GIL), so
    only error messages travel back. Unreadable images fail the whole call with a listing,
    or with ``skip_bad`` are dropped and the rows after them moved up.
    """
    starts = range(0, source.count, CHUNK)

    def work(start: int) -> list[tuple[int, str]]:
        stop = min(start + CHUNK, source.count)
        errors = []
        for i, item in enumerate(source.decode(range(start, stop)), start):
            if isinstance(item, str):
                errors.append((i, item))
            else:
                out[i] = item
        return errors

    bad: list[tuple[int, str]] = []
    workers = workers or min(8, os.cpu_count() or 1)
    with (
        ThreadPoolExecutor(workers) as pool,
        progress_bar(source.count, "decoding", progress) as bar,
    ):
        for start, errors in zip(starts, pool.map(work, starts), strict=True):
            bad.extend(errors)
            bar.update(min(CHUNK, source.count - start))
    if bad and not skip_bad:
        listing = "\n    ".join(msg for _, msg in bad[:5]) + (
            f"\n    ... and {len(bad) - 5} more" if len(bad) > 5 else ""
        )
        raise DCGANError(
            f"{len(bad)} of {source.count} image files in {source.description} cannot be read:\n    {listing}",
            "fix or remove them, or pass --skip-bad to skip them",
        )
    keep = np.setdiff1d(np.arange(source.count), [i for i, _ in bad])
    if not len(keep):
        raise DCGANError(
            f"none of the {source.count} image files in {source.description} can be read", "check the files"
        )
    first_bad = min((i for i, _ in bad), default=source.count)
    for row in range(first_bad, len(keep)):  # keep[row] >= row: moving up never overwrites a row still to move
        out[row] = out[keep[row]]
    return keep
