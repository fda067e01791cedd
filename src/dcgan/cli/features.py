"""``dcgan features`` and ``dcgan linear-probe``: the discriminator as a feature extractor, from the shell."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ..core.device import peak_rss_mb, pick_device
from ..data.summary import format_summary, summarize
from ..errors import DCGANError
from ..experiments.features import (
    discriminator_extractor,
    extract,
    load_discriminator,
    load_images_for,
    random_discriminator,
)
from ..experiments.linear_probe import BASELINES, DEFAULT_C_GRID, PICK_RECORD, PROTOCOLS, linear_probe, protocol_for
from .options import add_checkpoint, add_device, add_limit, add_progress, add_seed, source_options, write_json


def _layers(text: str | None) -> list[str] | None:
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def _add_common(p: argparse.ArgumentParser) -> None:
    add_checkpoint(p)
    p.add_argument(
        "--data",
        required=True,
        metavar="PATH",
        help="labelled images: a folder of class folders, a .zip (or archive.zip/inner/folder), MNIST IDX files",
    )
    p.add_argument(
        "--layers",
        metavar="NAMES",
        help="comma-separated discriminator layers to pool, e.g. down2,down3 [default: every conv layer]",
    )
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass [default: 256]")
    add_limit(p)
    add_device(p)
    add_progress(p)


def register_features(sub) -> None:
    p = sub.add_parser(
        "features",
        help="extract the paper's discriminator features",
        description="Max-pool every chosen discriminator layer to 4x4, flatten and concatenate (section 5.1); "
        "writes a float32 .npy (N, dim) and, when the data has labels, LABELS.npy beside it.",
    )
    _add_common(p)
    p.add_argument("-o", "--output", required=True, metavar="FEATS.npy", help="where to write the features")
    p.add_argument(
        "--random-init",
        action="store_true",
        help="use a randomly initialised discriminator of the checkpoint's architecture (a baseline)",
    )
    add_seed(p, "seed of --random-init")
    p.set_defaults(run=run_features)


def run_features(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix != ".npy":
        raise DCGANError(f"--output {output} must end in .npy", "e.g. -o feats.npy")
    D = load_discriminator(args.checkpoint)
    if args.random_init:
        D = random_discriminator(D.spec, args.seed)
    extractor = discriminator_extractor(D, _layers(args.layers), device=pick_device(args.device))
    data = load_images_for(D.spec, args.data, source_options(args).limit)
    print(format_summary(summarize(data)), flush=True)
    start = time.perf_counter()
    feats = extract(extractor, data.images, output, args.batch_size, args.progress)
    seconds = time.perf_counter() - start
    if data.labels is not None:
        np.save(output.with_name(output.stem + "-labels.npy"), data.labels.numpy())
    print(
        f"wrote {output}: {feats.shape[0]:,} x {feats.shape[1]:,} float32 in {seconds:.1f} s "
        f"({feats.shape[0] / seconds:.0f} images/s), peak memory {peak_rss_mb():.0f} MB"
    )
    return 0


def register_linear_probe(sub) -> None:
    p = sub.add_parser(
        "linear-probe",
        aliases=["classify"],
        help="linear L2-SVM on discriminator features, with baselines: the paper's section 5 (alias: classify)",
        description="Evaluate a DCGAN discriminator as a feature extractor with the paper's protocols, "
        "side by side with a randomly initialised D, raw pixels and single-layer K-means features, "
        "on the same splits.",
    )
    _add_common(p)
    p.add_argument(
        "--protocol",
        required=True,
        choices=(*PROTOCOLS, "custom"),
        help="cifar10: all labels and 400/class; svhn-1000: 10,000 validation, 100/class, test error; "
        "custom: --labels-per-class and --validation-size",
    )
    p.add_argument(
        "--test-data",
        metavar="PATH",
        help="the labelled test split [default: the sibling 'test' folder of a 'train' folder, "
        "or t10k-* beside MNIST train-* files]",
    )
    p.add_argument("--labels-per-class", type=int, help="labelled training examples per class in each draw")
    p.add_argument("--validation-size", type=int, help="held-out training examples for choosing C")
    p.add_argument("--draws", type=int, help="random labelled draws to average [default: 10]")
    p.add_argument(
        "--c-grid",
        default=",".join(map(str, DEFAULT_C_GRID)),
        metavar="C1,C2,...",
        help=f"SVM C values tried on the validation split [default: {','.join(map(str, DEFAULT_C_GRID))}]",
    )
    p.add_argument(
        "--max-iter", type=int, default=100, help="L-BFGS iterations per SVM fit (one pass over X each) [default: 100]"
    )
    p.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        metavar="NAMES",
        help=f"comma-separated baselines among {', '.join(BASELINES)}, or 'none' [default: all]",
    )
    p.add_argument("--kmeans-k", type=int, default=1600, help="K-means centroids (4k features) [default: 1600]")
    p.add_argument("--test-limit", type=int, help="use only the first N test images")
    p.add_argument(
        "--validation-only",
        action="store_true",
        help="score on the validation split held out of --data only; the test split is not read "
        "(to choose a checkpoint or a setting without looking at the test split)",
    )
    p.add_argument(
        "--pick-by-validation",
        action="store_true",
        help="--checkpoint is a run folder: score each checkpoint it kept (--checkpoint-every, and the last) on the "
        "validation split and probe the best; the JSON lists every score",
    )
    add_seed(p, "seed of the splits, random D and K-means")
    p.add_argument(
        "--workdir",
        metavar="DIR",
        help="keep the feature .npy memmaps here, and --pick-by-validation's scores so far (pick-scores.json: run "
        "again, a stopped pick continues with the next checkpoint) [default: a temporary folder]",
    )
    p.add_argument("--json", metavar="OUT.json", help="also write the table, one entry per model row, as JSON")
    p.set_defaults(run=run_linear_probe)


def _c_grid(text: str) -> list[float]:
    try:
        return [float(c) for c in text.split(",")]
    except ValueError:
        raise DCGANError(
            f"--c-grid {text!r} is not a comma-separated list of numbers", "e.g. --c-grid 0.01,0.1,1"
        ) from None


def run_linear_probe(args: argparse.Namespace) -> int:
    protocol = protocol_for(args.protocol, args.labels_per_class, args.validation_size, args.draws)
    report = linear_probe(
        args.checkpoint,
        args.data,
        protocol,
        args.test_data,
        layers=_layers(args.layers),
        baselines=[] if args.baselines == "none" else _layers(args.baselines),
        c_grid=_c_grid(args.c_grid),
        max_iter=args.max_iter,
        kmeans_k=args.kmeans_k,
        seed=args.seed,
        limit=source_options(args).limit,
        test_limit=args.test_limit,
        batch_size=args.batch_size,
        device=args.device,
        workdir=args.workdir,
        progress=args.progress,
        validation_only=args.validation_only,
        pick_by_validation=args.pick_by_validation,
        pick_record=Path(args.workdir) / PICK_RECORD if args.workdir else None,
    )
    print(report.table().markdown())
    write_json(args.json, report.to_dict())
    return 0
