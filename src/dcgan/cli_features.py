"""``dcgan features`` and ``dcgan classify``: the discriminator as a feature extractor, from the shell."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .classify import DEFAULT_C_GRID, PROTOCOLS, Protocol, evaluate, format_table, make_splits, peak_rss_mb
from .cli_options import add_device, add_limit, add_progress
from .data import ImageData, load_dataset
from .errors import DCGANError
from .features import (
    discriminator_extractor,
    extract,
    kmeans_extractor,
    load_discriminator,
    pixel_extractor,
    random_discriminator,
)
from .training import pick_device

BASELINES = ("random", "pixels", "kmeans")


def _layers(text: str | None) -> list[str] | None:
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="a .safetensors checkpoint or a run folder")
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
    p.add_argument("--seed", type=int, default=0, help="seed of --random-init [default: 0]")
    p.set_defaults(run=run_features)


def _load(path: str, spec, limit: int | None) -> ImageData:
    return load_dataset(path, resolution=spec.resolution, channels=spec.channels, limit=limit)


def run_features(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix != ".npy":
        raise DCGANError(f"--output {output} must end in .npy", "e.g. -o feats.npy")
    D = load_discriminator(args.checkpoint)
    if args.random_init:
        D = random_discriminator(D.spec, args.seed)
    extractor = discriminator_extractor(D, _layers(args.layers), device=pick_device(args.device))
    data = _load(args.data, D.spec, args.limit)
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


def register_classify(sub) -> None:
    p = sub.add_parser(
        "classify",
        help="linear L2-SVM on discriminator features, with baselines (the paper's section 5)",
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
    p.add_argument("--seed", type=int, default=0, help="seed of the splits, random D and K-means [default: 0]")
    p.add_argument("--workdir", metavar="DIR", help="keep the feature .npy memmaps here [default: a temporary folder]")
    p.add_argument("--json", metavar="OUT.json", help="also write the table, one entry per model row, as JSON")
    p.set_defaults(run=run_classify)


def default_test_split(train: str) -> Path:
    """Where the test split of a training split usually lives."""
    path = Path(train)
    if path.name == "train":
        return path.with_name("test")
    folder = path if path.is_dir() else path.parent
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"):
        if (folder / name).is_file():
            return folder / name
    raise DCGANError(f"cannot tell where the test split of {train} is", "pass --test-data PATH")


def resolve_protocol(args: argparse.Namespace) -> Protocol:
    if args.protocol == "custom":
        if args.labels_per_class is None:
            raise DCGANError("--protocol custom needs --labels-per-class N")
        protocol = Protocol("custom", 5000, args.labels_per_class, full=True)
    else:
        protocol = PROTOCOLS[args.protocol]
    changes = {"labels_per_class": args.labels_per_class, "validation_size": args.validation_size}
    changes |= {"draws": args.draws}
    protocol = replace(protocol, **{k: v for k, v in changes.items() if v is not None})
    if protocol.draws < 1 or (protocol.labels_per_class is not None and protocol.labels_per_class < 1):
        raise DCGANError("--draws and --labels-per-class must be at least 1")
    return protocol


def _c_grid(text: str) -> list[float]:
    try:
        grid = [float(c) for c in text.split(",")]
    except ValueError:
        raise DCGANError(
            f"--c-grid {text!r} is not a comma-separated list of numbers", "e.g. --c-grid 0.01,0.1,1"
        ) from None
    if not grid or min(grid) <= 0:
        raise DCGANError(f"--c-grid values must be positive, got {text}")
    return grid


def run_classify(args: argparse.Namespace) -> int:
    protocol = resolve_protocol(args)
    c_grid = _c_grid(args.c_grid)
    if args.max_iter < 1:
        raise DCGANError(f"--max-iter must be at least 1, not {args.max_iter}")
    baselines = [] if args.baselines == "none" else _layers(args.baselines)
    unknown = sorted(set(baselines) - set(BASELINES))
    if unknown:
        raise DCGANError(f"unknown baseline {', '.join(unknown)}", f"choose among {', '.join(BASELINES)} or 'none'")
    D = load_discriminator(args.checkpoint)
    layers = _layers(args.layers)
    device = pick_device(args.device)
    ours = discriminator_extractor(D, layers, "DCGAN discriminator (ours)", device)  # checks --layers first
    train = _load(args.data, D.spec, args.limit)
    test_path = str(args.test_data or default_test_split(args.data))
    test = _load(test_path, D.spec, args.test_limit)
    if train.labels is None or test.labels is None:
        raise DCGANError(f"{args.data} or its test split has no labels", "use images in class folders or MNIST IDX")
    if train.class_names != test.class_names:
        raise DCGANError(
            f"the training classes ({', '.join(train.class_names)}) differ from the test classes "
            f"({', '.join(test.class_names)})",
            "give a test split with the same class folders",
        )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    log(f"train {len(train):,} images from {args.data}, test {len(test):,} from {test_path}")

    extractors = {"ours": lambda: ours}
    if "random" in baselines:
        rand = random_discriminator(D.spec, args.seed)
        extractors["random"] = lambda: discriminator_extractor(rand, layers, "random discriminator", device)
    if "pixels" in baselines:
        extractors["pixels"] = lambda: pixel_extractor(D.spec.resolution, D.spec.channels)
    if "kmeans" in baselines:
        extractors["kmeans"] = lambda: kmeans_extractor(train.images, args.kmeans_k, seed=args.seed)

    train_labels, test_labels = train.labels.numpy(), test.labels.numpy()
    splits = make_splits(train_labels, protocol.validation_size, protocol.labels_per_class, protocol.draws, args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dcgan-features-") as tmp:
        workdir = Path(args.workdir or tmp)
        for key, make in extractors.items():
            start = time.perf_counter()
            extractor = make()
            feats = {
                split: extract(extractor, data.images, workdir / f"{key}-{split}.npy", args.batch_size, args.progress)
                for split, data in (("train", train), ("test", test))
            }
            seconds = time.perf_counter() - start
            log(f"{extractor.name}: {extractor.dim:,} features in {seconds:.1f} s")
            row = evaluate(
                extractor.name,
                feats["train"],
                train_labels,
                feats["test"],
                test_labels,
                protocol,
                splits,
                c_grid,
                args.max_iter,
                log,
            )
            row.extract_seconds = seconds
            rows.append(row)
            del feats
    table = format_table(rows, protocol)
    print(table)
    if args.json:
        report = {
            "protocol": {**protocol.__dict__, "c_grid": c_grid, "max_iter": args.max_iter, "seed": args.seed},
            "train": {"source": args.data, "images": len(train)},
            "test": {"source": test_path, "images": len(test)},
            "checkpoint": args.checkpoint,
            "rows": [r.to_dict() for r in rows],
            "table": table,
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0
