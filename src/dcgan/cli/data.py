"""``dcgan prepare``, ``dedup``, ``download`` and ``cache``: the dataset commands, over ``dcgan.data``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..core.models import ModelSpec
from ..data import cache, dedup, download, prepare_dataset, prepared
from ..errors import DCGANError
from .options import add_progress, add_source_options, source_options


def register_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare",
        help="decode a dataset once into a memory-mapped array for fast training",
        description="Decode, crop and resize SRC once into OUT/images.npy + manifest.json; "
        "then `dcgan train --data OUT` starts in seconds.",
    )
    p.add_argument("src", metavar="SRC", help="any source --data accepts: a path or a downloaded dataset's name")
    p.add_argument("-o", "--out", required=True, metavar="OUT_DIR", help="folder to write (must not exist or be empty)")
    add_source_options(p)
    add_progress(p)
    p.set_defaults(run=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    options = source_options(args)
    if options.resolution is not None:
        ModelSpec(resolution=options.resolution)  # the same check as training, before any decoding
    start = time.perf_counter()
    out = prepare_dataset(args.src, args.out, options, progress=args.progress)
    seconds = time.perf_counter() - start
    m = prepared.read_manifest(out)
    skipped = f", skipped {m['skipped']} unreadable" if m["skipped"] else ""
    print(
        f"prepared {m['count']} images ({m['channels']}x{m['resolution']}x{m['resolution']}{skipped}) into {out}"
        f" in {seconds:.1f} s ({m['count'] / seconds:.0f} images/s)"
    )
    return 0


def register_download(sub) -> None:
    listing = "; ".join(f"{d.name}: {d.about}" for d in download.DATASETS.values())
    p = sub.add_parser(
        "download",
        help="download a dataset from its official URL (checksummed, resumable)",
        description=f"Fetch a dataset's official files, verify their MD5 and keep them for --data NAME. {listing}.",
    )
    p.add_argument("name", metavar="NAME", choices=sorted(download.DATASETS), help=", ".join(download.DATASETS))
    p.add_argument("--dir", help="download folder [default: $DCGAN_CACHE/datasets, i.e. ~/.cache/dcgan/datasets]")
    add_progress(p)
    p.set_defaults(run=run_download)


def run_download(args: argparse.Namespace) -> int:
    folder = download.download(args.name, Path(args.dir) if args.dir else None, args.progress)
    hint = f"--data {args.name}" if args.dir is None else f"--data {folder}"
    print(f"{args.name}: every file present and verified in {folder}; train with {hint}")
    return 0


def register_dedup(sub) -> None:
    p = sub.add_parser(
        "dedup",
        help="remove near-duplicate images from a prepared set",
        description="Hash each image of a prepared set (sign bits of the PCA of 32x32 grey thumbnails), group codes "
        "within --radius bits, and write the set without duplicates plus dedup_report.json and dedup_examples.png.",
    )
    p.add_argument("src", metavar="PREPARED", help="a folder written by dcgan prepare")
    p.add_argument("-o", "--out", required=True, metavar="FILTERED_DIR", help="folder to write (must not exist)")
    p.add_argument("--bits", type=int, default=64, help="code length, a multiple of 8 up to 64 [default: 64]")
    p.add_argument("--radius", type=int, default=4, help="largest Hamming distance of near duplicates [default: 4]")
    p.add_argument("--examples", type=int, default=16, help="duplicate pairs shown in dedup_examples.png [default: 16]")
    add_progress(p)
    p.set_defaults(run=run_dedup)


def run_dedup(args: argparse.Namespace) -> int:
    if not prepared.detect(Path(args.src)):
        raise DCGANError(f"{args.src} is not a prepared set", f"prepare it first: dcgan prepare SRC -o {args.src}")
    result = dedup.dedup_prepared(Path(args.src), Path(args.out), args.bits, args.radius, args.examples, args.progress)
    total = len(result.keep) + result.removed
    print(
        f"{result.removed} of {total} images are near duplicates ({len(result.groups)} groups); "
        f"kept {len(result.keep)} in {args.out} (report: {Path(args.out) / dedup.REPORT})"
    )
    return 0


def register_cache(sub) -> None:
    p = sub.add_parser(
        "cache",
        help="list or clear the training cache of decoded datasets",
        description="List the prepared copies that training keeps in $DCGAN_CACHE/prepared (default "
        "~/.cache/dcgan/prepared), least recently used first; with --clear, delete them. --unused-days and "
        "--stale select entries (either one matches); with neither, every entry is selected.",
    )
    p.add_argument("--unused-days", type=float, metavar="N", help="entries not used for N days or more")
    p.add_argument(
        "--stale",
        action="store_true",
        help="entries training can no longer use (source gone or changed, damaged) and killed writes",
    )
    p.add_argument("--clear", action="store_true", help="delete the selected entries")
    p.set_defaults(run=run_cache)


def _size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024


def run_cache(args: argparse.Namespace) -> int:
    if args.unused_days is not None and args.unused_days < 0:
        raise DCGANError(f"--unused-days must be 0 or more, not {args.unused_days}")
    entries = cache.cache_entries()
    filtered = args.unused_days is not None or args.stale
    selected = [
        e
        for e in entries
        if not filtered
        or (args.unused_days is not None and e.idle_days >= args.unused_days)
        or (args.stale and e.state != "ok")
    ]
    root = cache.cache_root() / "prepared"
    if not selected:
        print(f"nothing {'matches' if filtered else 'cached'} in {root}")
        return 0
    if args.clear:
        freed = cache.remove_cache_entries(selected)
        busy = sum(e.state == "being written" for e in selected)
        note = f"; left {busy} still being written" if busy else ""
        print(f"deleted {len(selected) - busy} of {len(entries)} entries ({_size(freed)}) from {root}{note}")
        return 0
    for e in selected:
        what = f"{e.count} images at {e.resolution}px from {e.source}  " if e.source != "?" else ""
        print(f"{e.path.name}  {_size(e.nbytes):>9}  used {e.idle_days:5.1f} days ago  {what}[{e.state}]")
    total = _size(sum(e.nbytes for e in selected))
    print(f"{len(selected)} of {len(entries)} entries, {total}, in {root}; add --clear to delete them")
    return 0
