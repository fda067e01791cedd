"""``dcgan evaluate`` and ``dcgan train-classifier``: sample quality from the shell."""

from __future__ import annotations

import argparse

from ..metrics.classifier import train_classifier
from ..metrics.evaluate import METRICS, evaluate, parse_metrics
from ..metrics.inception import download_weights
from ..metrics.networks import USAGE
from .options import add_checkpoint, add_device, add_progress, add_seed, add_source_options, source_options, write_json


def register_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a generator: FID, KID, precision/recall against real data",
        description="Generate --n images from seeded z, take --n random real images, and compare them in the "
        "feature space of --features. Every figure names the network it was computed with.",
    )
    add_checkpoint(p, generator=True)
    p.add_argument("--real", required=True, metavar="DATA", help="the real images (any dataset --data reads)")
    p.add_argument("--features", default="discriminator", metavar="NET", help=f"{USAGE} [default: discriminator]")
    p.add_argument("--metrics", default=",".join(METRICS), help=f"comma-separated among {','.join(METRICS)}")
    p.add_argument("--n", type=int, default=10_000, help="generated and real images [default: 10000]")
    p.add_argument("--k", type=int, default=3, help="neighbours of the precision/recall radii [default: 3]")
    add_seed(p, "seed of z, the real sample and KID's subsets")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass [default: 256]")
    p.add_argument("--json", metavar="OUT.json", help="also write the figures as JSON")
    p.add_argument(
        "--download-inception",
        action="store_true",
        help="fetch the Inception FID weights into the cache first (the only time dcgan downloads them)",
    )
    add_source_options(p, ["limit", "held_out", "where", "split", "skip_bad"])  # the real images; size, channels: G
    add_device(p)
    add_progress(p)
    p.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    metrics = parse_metrics(args.metrics)  # a misspelt name fails before anything is loaded
    if args.download_inception:
        print(f"Inception weights at {download_weights()}")
    result = evaluate(
        args.checkpoint,
        args.real,
        args.features,
        metrics,
        n=args.n,
        seed=args.seed,
        k=args.k,
        options=source_options(args),
        batch_size=args.batch_size,
        device=args.device,
        progress=args.progress,
        generator=args.generator,
    )
    print(result.summary())
    write_json(args.json, result.to_dict())
    return 0


def register_train_classifier(sub) -> None:
    p = sub.add_parser(
        "train-classifier",
        help="train the domain feature network for evaluate --features domain:DIR",
        description="Train a small conv classifier on labelled real images (class labels, or CelebA's attributes); "
        "its 128-d penultimate layer gives offline features for FID, KID and precision/recall.",
    )
    p.add_argument("--data", required=True, metavar="PATH", help="labelled images (any dataset --data reads)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for classifier.safetensors")
    p.add_argument("--epochs", type=int, default=3, help="passes over the data [default: 3]")
    p.add_argument("--batch-size", type=int, default=128, help="[default: 128]")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate [default: 0.001]")
    p.add_argument("--width", type=int, default=32, help="channels of the first stage (then 2x, 4x) [default: 32]")
    add_seed(p, "seed of the split, initialisation and order")
    add_source_options(p)
    add_device(p)
    add_progress(p)
    p.set_defaults(run=run_train_classifier)


def run_train_classifier(args: argparse.Namespace) -> int:
    clf, path = train_classifier(
        args.data,
        args.output,
        source_options(args),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        width=args.width,
        seed=args.seed,
        device=args.device,
        progress=args.progress,
    )
    meta = clf.meta
    print(
        f"wrote {path}: {meta['task']} ({len(meta['names'])}) at {meta['resolution']}x{meta['resolution']}, "
        f"held-out accuracy {meta['held_out_accuracy']:.3f} on {meta['held_out_images']:,} images"
    )
    return 0
