"""Near duplicates among real LSUN bedrooms: what ``dcgan dedup`` flags, and the pairs just past its radius.

    python -m benchmarks.dedup_bedrooms [--data ../shared/data/lsun-bedroom-9k.zip] [--radius 4] [--past 6]
        [--limit 8000] [--show 128] [--sheets docs/img/datasets] [--out benchmarks/results/dedup_bedrooms]

The codes and groups are those ``dcgan dedup`` finds in the set prepared at 64x64 (the same hash, PCA sample
and radius). Dedup has been measured only on planted copies (``benchmarks/dedup_planted.py``); on real photos
the truth is unknown, so this writes two sheets for a person to judge, one pair a row, each image its centred
square at ``--show`` pixels: the pairs dedup flags (codes within ``--radius`` bits), closest first, and the
pairs ``--radius`` + 1 to ``--radius`` + ``--past`` bits apart, which it keeps. Each row also gives the cosine
of the pair's 32x32 grey thumbnails (what the hash codes), a second opinion in pixels. The table counts the
pairs, groups and images removed at each radius, and the groups that straddle the ``--limit`` split (an image
trained on, with a copy among the held-out images that memorisation is measured against).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from dcgan import load_dataset
from dcgan.core.images import labelled_rows, save_image, to_unit_range
from dcgan.data.dedup import binary_codes, bit_distances, grey_thumbnails, groups_of, near_pairs
from dcgan.data.formats.folder import Tree, is_image_file
from dcgan.data.loading import open_source
from dcgan.data.source import limit_rows

from .common import ROOT, SHARED_DATA, write_report

HASH_RESOLUTION = 64  # the resolution the bedrooms are prepared (and trained) at


def pair_rows(pairs: np.ndarray, distances: np.ndarray, cosines: np.ndarray) -> list[dict]:
    """The pairs, closest first (fewest bits, then the highest cosine), as report rows."""
    order = np.lexsort((-cosines, distances))
    return [
        {"images": pairs[k].tolist(), "bits": int(distances[k]), "cosine": round(float(cosines[k]), 4)}
        for k in order.tolist()
    ]


def sheet(rows: list[dict], shown: dict[int, np.ndarray], path: Path) -> None:
    """One pair a row, labelled with its distance in bits, its cosine and the two image numbers."""
    if not rows:
        return
    labelled = [
        (
            f"{row['bits']} bit{'s' * (row['bits'] != 1)}\ncos {row['cosine']:.3f}\n#{row['images'][0]}\n#{row['images'][1]}",
            to_unit_range(torch.from_numpy(np.stack([shown[i] for i in row["images"]]))),
        )
        for row in rows
    ]
    save_image(labelled_rows(labelled), path, quality=85)


def by_radius(pairs: np.ndarray, distances: np.ndarray, count: int, radii: range, train: np.ndarray) -> list[dict]:
    """At each radius: the pairs within it, their groups (as dcgan dedup joins them), the images removed
    (all but the first of each group) and the groups with images on both sides of the training split."""
    out = []
    for radius in radii:
        groups = groups_of(pairs[distances <= radius], count)
        straddling = sum(1 for g in groups if 0 < train[g].sum() < len(g))
        out.append(
            {
                "radius": radius,
                "pairs": int((distances <= radius).sum()),
                "groups": len(groups),
                "removed": sum(len(g) - 1 for g in groups),
                "straddling": straddling,
            }
        )
    return out


def markdown(report: dict) -> str:
    lines = [
        f"{report['images']:,} images from {report['data']}, {report['bits']}-bit codes at {report['resolution']}x"
        f"{report['resolution']}; hash and search {report['seconds']:.1f} s",
        "",
        f"| radius | pairs | groups | images removed | groups across --limit {report['limit']} |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['radius']} | {r['pairs']} | {r['groups']} | {r['removed']} | {r['straddling']} |"
        for r in report["by_radius"]
    ]
    lines += ["", "| bits | cosine | images | names |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {p['bits']} | {p['cosine']:.3f} | {p['images'][0]}, {p['images'][1]} | {', '.join(p['names'])} |"
        for p in report["pairs"]
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_DATA / "lsun-bedroom-9k.zip"), help="a folder or zip of images")
    parser.add_argument("--bits", type=int, default=64, help="code length, as dcgan dedup --bits")
    parser.add_argument("--radius", type=int, default=4, help="dcgan dedup --radius: the pairs flagged")
    parser.add_argument("--past", type=int, default=6, help="bits past the radius shown on the second sheet")
    parser.add_argument("--limit", type=int, default=8000, help="the recipe's --limit: training images")
    parser.add_argument("--show", type=int, default=128, help="pixels of each image on the sheets")
    parser.add_argument("--sheets", default=str(ROOT / "docs" / "img" / "datasets"), help="folder of the sheets")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dedup_bedrooms"), help="report stem")
    args = parser.parse_args()

    images = load_dataset(args.data, resolution=HASH_RESOLUTION).images
    start = time.perf_counter()
    codes = binary_codes(images, args.bits)
    pairs = near_pairs(codes, args.radius + args.past, args.bits)
    seconds = time.perf_counter() - start
    distances = bit_distances(codes, pairs[:, 0], pairs[:, 1])
    cosines = (grey_thumbnails(images[pairs[:, 0]]) * grey_thumbnails(images[pairs[:, 1]])).sum(axis=1)
    rows = pair_rows(pairs, distances, cosines)
    names = [name for name in Tree(Path(args.data)).files if is_image_file(name)]  # the order images are read in
    for row in rows:
        row["names"] = [Path(names[i]).name for i in row["images"]]

    shown_rows = sorted({i for row in rows for i in row["images"]})
    shown = dict(zip(shown_rows, open_source(args.data, args.show, 3).decode(shown_rows), strict=True))
    sheets = Path(args.sheets)
    sheet([r for r in rows if r["bits"] <= args.radius], shown, sheets / "dedup_bedrooms_flagged.jpg")
    sheet([r for r in rows if r["bits"] > args.radius], shown, sheets / "dedup_bedrooms_past.jpg")

    train = np.zeros(len(images), dtype=bool)
    train[limit_rows(None, len(images), args.limit)] = True
    report = {
        "data": args.data,
        "images": len(images),
        "resolution": HASH_RESOLUTION,
        "bits": args.bits,
        "radius": args.radius,
        "limit": args.limit,
        "seconds": seconds,
        "by_radius": by_radius(pairs, distances, len(images), range(args.radius + args.past + 1), train),
        "pairs": rows,
    }
    write_report(args.out, report, markdown(report))


if __name__ == "__main__":
    main()
