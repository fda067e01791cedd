"""Near-duplicate removal for prepared sets, as the paper did for LSUN (section 4.1.1).

The paper hashed 32x32 downsampled centre crops with an autoencoder. Here the code is the
sign of the top ``bits`` principal components of each image's 32x32 grey version (mean
removed, unit norm), a 64-bit number; images whose codes differ in at most ``radius`` bits
are near duplicates. Candidates come from exact matches on ``radius + 1`` bands of the
code (two codes within the radius agree on at least one band), so the search stays close
to linear in the number of images. Each group keeps its first image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.images import save_grid, to_unit_range
from ..core.pages import release_rows
from ..core.progress import tracked
from ..errors import DCGANError
from .prepared import load, read_manifest, write_prepared
from .source import ROW_FIELDS, Source

HASH_SIDE = 32
PCA_SAMPLE = 20_000
MIN_VARIANCE_SHARE = 0.01  # a component must carry 1% of the first one's variance to give a bit
CHUNK = 1024  # images per pass: their float copies are the bulk of the memory dedup needs


def grey_thumbnails(images: torch.Tensor) -> np.ndarray:
    """(n, C, H, W) uint8 -> (n, 32*32) float32 grey thumbnails, mean 0 and norm 1 each."""
    batch = images.float().mean(dim=1, keepdim=True)
    if batch.shape[-1] != HASH_SIDE:
        batch = F.interpolate(batch, size=(HASH_SIDE, HASH_SIDE), mode="area")
    flat = batch.flatten(1)
    flat = flat - flat.mean(dim=1, keepdim=True)
    return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-6)).numpy()


def _sample_thumbnails(images: torch.Tensor, rows: np.ndarray) -> np.ndarray:
    """Thumbnails of scattered ``rows``; their pages of a memory-mapped set leave the resident set."""
    thumbs = grey_thumbnails(images[torch.from_numpy(rows)])
    release_rows(images, rows)
    return thumbs


def _eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and vectors, on one thread: threaded LAPACK on a problem this small is
    many times slower on a busy machine (docs/datasets.md)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        values, vectors = torch.linalg.eigh(torch.from_numpy(matrix))
    finally:
        torch.set_num_threads(threads)
    return values.numpy(), vectors.numpy()


def binary_codes(images: torch.Tensor, bits: int = 64, seed: int = 0, progress: bool = False) -> np.ndarray:
    """Sign bits of the top ``bits`` principal components of each image's thumbnail, one uint64 per image.

    The components come from the thumbnails of a fixed random sample; the codes are computed chunk by
    chunk, so memory stays flat in the number of images (8 bytes each for the codes).
    """
    if not 8 <= bits <= 64 or bits % 8:
        raise DCGANError(f"--bits must be a multiple of 8 from 8 to 64, not {bits}")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(images), min(len(images), PCA_SAMPLE), replace=False)
    sample = np.concatenate([_sample_thumbnails(images, part) for part in np.array_split(rows, -(-len(rows) // CHUNK))])
    mean = sample.mean(axis=0)
    centred = (sample - mean).astype(np.float64)
    variances, vectors = _eigh(centred.T @ centred)  # of the (1024, 1024) covariance: cheaper than an SVD
    variances, vectors = variances[::-1], vectors[:, ::-1]
    # only components with real variance: the signs of near-empty ones are noise that copies do not share
    useful = min(bits, int((variances >= MIN_VARIANCE_SHARE * variances[0]).sum()))
    components = vectors[:, :useful].T.astype(np.float32)
    codes = np.empty(len(images), dtype=np.uint64)
    for start in tracked(range(0, len(images), CHUNK), -(-len(images) // CHUNK), "hashing", progress, "chunk"):
        thumbs = grey_thumbnails(images[start : start + CHUNK])
        release_rows(images, slice(start, start + CHUNK))
        signs = np.zeros((len(thumbs), bits), dtype=bool)  # bits past the useful components stay 0 for every image
        signs[:, :useful] = (thumbs - mean) @ components.T > 0
        packed = np.packbits(signs, axis=1)  # (n, bits / 8) bytes
        codes[start : start + len(thumbs)] = np.pad(packed, ((0, 0), (0, 8 - packed.shape[1]))).view(">u8").ravel()
    return codes


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy 2
        return np.bitwise_count(x)
    return np.unpackbits(x.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def bit_distances(codes: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The number of bits in which the codes of images ``i`` and ``j`` (arrays of indices) differ."""
    return _popcount(codes[i] ^ codes[j])


def near_pairs(codes: np.ndarray, radius: int, bits: int = 64) -> np.ndarray:
    """All (i, j), i < j, whose codes differ in at most ``radius`` bits, as an (M, 2) array."""
    bands = np.array_split(np.arange(bits), radius + 1)
    found = set()
    for band in bands:
        mask = np.uint64(sum(1 << (63 - b) for b in band.tolist()))
        keys = codes & mask
        order = np.argsort(keys, kind="stable")
        bounds = np.flatnonzero(np.diff(keys[order])) + 1
        for group in np.split(order, bounds):
            for i, j in _close_in(group, codes, radius):
                found.update(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist(), strict=True))
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)


def _close_in(group: np.ndarray, codes: np.ndarray, radius: int, pairs_per_block: int = 1 << 20):
    """The pairs of ``group`` (image indices sharing a band) within ``radius`` bits, a block of rows at a time:
    a group of g images compares g^2 / 2 pairs, but holds only ``pairs_per_block`` of them at once."""
    rows = max(1, pairs_per_block // len(group))
    for start in range(0, len(group) - 1, rows):
        first = group[start : start + rows]
        a, b = np.nonzero(np.triu(np.ones((len(first), len(group) - start), dtype=bool), 1))
        i, j = first[a], group[start + b]
        close = bit_distances(codes, i, j) <= radius
        yield i[close], j[close]


def groups_of(pairs: np.ndarray, count: int) -> list[list[int]]:
    """Connected groups (union-find) of the pairs, each sorted, groups ordered by their first image."""
    parent = np.arange(count)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs.tolist():
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    members: dict[int, list[int]] = {}
    for i in np.unique(pairs).tolist():
        members.setdefault(root(i), []).append(i)
    return sorted(sorted(g) for g in members.values())


REPORT = "dedup_report.json"  # beside a deduplicated set: counts, radius and the groups removed


@dataclass
class DedupResult:
    groups: list[list[int]]
    keep: np.ndarray
    pairs: np.ndarray

    @property
    def removed(self) -> int:
        return sum(len(g) - 1 for g in self.groups)


def find_duplicates(images: torch.Tensor, bits: int = 64, radius: int = 4, progress: bool = False) -> DedupResult:
    """Near-duplicate groups of ``images`` (N, C, H, W) uint8; ``keep`` holds the first of each group."""
    if not 0 <= radius < bits // 2:
        raise DCGANError(f"--radius must be from 0 to {bits // 2 - 1}, not {radius}")
    codes = binary_codes(images, bits, progress=progress)
    pairs = near_pairs(codes, radius, bits)
    groups = groups_of(pairs, len(images))
    kept = np.ones(len(images), dtype=bool)
    kept[[i for g in groups for i in g[1:]]] = False
    return DedupResult(groups, np.flatnonzero(kept), pairs)


def dedup_prepared(
    src: Path, out: Path, bits: int = 64, radius: int = 4, examples: int = 16, progress: bool = False
) -> DedupResult:
    """Write ``out``: the prepared set ``src`` without near duplicates, plus :data:`REPORT` and an example sheet."""
    src, out = Path(src), Path(out)
    manifest = read_manifest(src)
    _, fields = load(src, None, None)
    images = fields["images"]
    result = find_duplicates(images, bits, radius, progress)
    keep = result.keep
    meta = {name: fields[name] for name in ROW_FIELDS.values()}  # the kept rows keep their labels and points
    meta |= {name: fields[name].numpy() for name in ROW_FIELDS if fields[name] is not None}
    source = Source(
        manifest["count"],
        manifest["resolution"],
        manifest["channels"],
        partial(_read_rows, images),
        description=f"{manifest['description']}, near duplicates removed",
        **meta,
    ).subset(keep)
    provenance = {
        "source": manifest["source"],
        "options": manifest["options"],
        "dedup": {"from": str(src.resolve()), "bits": bits, "radius": radius, "removed": result.removed},
    }
    write_prepared(source, out, skip_bad=False, progress=progress, provenance=provenance)
    report = {
        "images": manifest["count"],
        "kept": len(keep),
        "removed": result.removed,
        "groups": len(result.groups),
        "bits": bits,
        "radius": radius,
        "duplicate_groups": result.groups,
    }
    (out / REPORT).write_text(json.dumps(report, indent=1) + "\n")
    if result.groups:
        save_example_pairs(images, result.groups[:examples], out / "dedup_examples.png")
    return result


def _read_rows(images: torch.Tensor, indices) -> list[np.ndarray]:
    """Rows of a memory-mapped set; the pages of the span they came from leave the resident set."""
    rows = torch.as_tensor(list(indices))
    picked = images[rows]
    release_rows(images, rows)
    return list(picked.numpy())


def save_example_pairs(images: torch.Tensor, groups: list[list[int]], path: Path) -> None:
    """One row per group: the kept image, then the first duplicate removed."""
    pairs = torch.stack([torch.stack([images[g[0]], images[g[1]]]) for g in groups]).flatten(0, 1)
    save_grid(to_unit_range(pairs), path, nrow=2)
