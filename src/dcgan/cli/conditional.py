"""``dcgan nn-protocol``: the paper's nearest-neighbour test of a class-conditional generator."""

from __future__ import annotations

import argparse

from ..errors import DCGANError
from ..metrics.nn_protocol import nn_protocol_files
from .options import add_checkpoint, add_device, add_seed, write_json


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise DCGANError(f"-n {text!r} is not a list of numbers", "write e.g. -n 1000,10000") from None
    if not sizes:
        raise DCGANError("-n names no sample count", "write e.g. -n 1000,10000")
    return sizes


def register_nn_protocol(sub) -> None:
    p = sub.add_parser(
        "nn-protocol",
        help="1-NN test error of a conditional generator's samples against real data (the paper's appendix)",
        description="Fit a 1-nearest-neighbour classifier on N labelled samples of a class-conditional generator,"
        " classify the real test set, and compare with 1-NN fitted on N random real training images.",
    )
    add_checkpoint(p, help="a checkpoint of a run trained with --conditional (file or run folder)", generator=True)
    p.add_argument(
        "--data",
        required=True,
        metavar="TRAIN",
        help="the labelled real training set, for the real-data baseline (e.g. the MNIST folder)",
    )
    p.add_argument(
        "--test-data",
        metavar="TEST",
        help="the labelled real test set [default: the sibling 'test' folder of a 'train' folder, "
        "or t10k-* beside MNIST train-* files]",
    )
    p.add_argument("-n", "--num", default="1000,10000", help="comma-separated sample counts N [default: 1000,10000]")
    add_seed(p, "seed for z and the real subsets")
    p.add_argument("--json", metavar="OUT.json", help="also write the report as JSON")
    add_device(p)
    p.set_defaults(run=run_nn_protocol)


def run_nn_protocol(args: argparse.Namespace) -> int:
    sizes = _sizes(args.num)
    report = nn_protocol_files(
        args.checkpoint, args.data, args.test_data, sizes, args.seed, args.device, args.generator
    )
    print(f"1-NN test error on {report.test_size:,} real test images ({report.checkpoint})")
    print(report.table())
    if args.json:
        write_json(args.json, report.to_dict())
        print(f"wrote {args.json}")
    return 0
