"""``dcgan report``, ``serve`` and ``export``: the ways to look at a run and take its generator elsewhere."""

from __future__ import annotations

import argparse

from ..export import FORMATS, export_generator
from ..report import write_report
from .options import add_checkpoint


def register_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="rebuild a run's report.html",
        description="Write RUN_DIR/report.html, the self-contained page training keeps up to date (opens from disk).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    print(f"wrote {write_report(args.run_dir)}")
    return 0


def register_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export the generator to ONNX or TorchScript",
        description="Write the generator (z in, images in [-1, 1] out, any batch size, the checkpoint's config in "
        "the metadata) as an ONNX or TorchScript file.",
    )
    add_checkpoint(p)
    p.add_argument("--format", required=True, choices=FORMATS, help="onnx or torchscript")
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    print(f"wrote {export_generator(args.checkpoint, args.format, args.output)}")
    return 0
