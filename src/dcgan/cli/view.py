"""``dcgan report``, ``serve`` and ``export``: the ways to look at a run and take its generator elsewhere."""

from __future__ import annotations

import argparse

from ..core.checkpoints import DTYPES, load_checkpoint
from ..core.device import pick_device
from ..export import FORMATS, export_generator
from ..report import write_report
from ..reproduce import recipe_of
from .options import add_checkpoint, add_class, add_device, add_generator, add_pretrained, chosen_class


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
        help="export the generator to ONNX, TorchScript or a generator-only safetensors file",
        description="Write the generator (z in, images in [-1, 1] out, any batch size, the checkpoint's config in "
        "the metadata) as an ONNX or TorchScript file, or as a generator-only safetensors file that every dcgan "
        "command reading a checkpoint for its G takes (docs/explorer.md).",
    )
    add_checkpoint(p, generator=True)
    add_class(
        p,
        "onnx and torchscript: fix this class, so the file takes z alone [default: a conditional G's file takes z "
        "and int64 class indices 'labels'; a generator-only file keeps every class]",
    )
    p.add_argument("--format", required=True, choices=FORMATS, help="onnx, torchscript or safetensors (G alone)")
    p.add_argument("--dtype", choices=DTYPES, default="fp32", help="safetensors: fp16 halves the file [default: fp32]")
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    ckpt = load_checkpoint(args.checkpoint)  # read once: for --class and for the export
    label = chosen_class(args, ckpt, required=False)
    recipe = recipe_of(args.checkpoint) if args.format == "safetensors" else None
    path = export_generator(ckpt, args.format, args.output, args.generator, args.dtype, recipe, label)
    print(f"wrote {path}")
    return 0


def register_serve(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="explore a generator's latent space in the browser",
        description="Start a local web app: sample sheets by seed, walks, vector arithmetic, directions, boxes "
        "for dcgan forget, image and z downloads.",
    )
    p.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="PATH",
        help="a .safetensors checkpoint or generator-only file, or a run folder (its last and every epoch "
        "checkpoint); repeatable",
    )
    add_pretrained(p, append=True)
    add_generator(p)
    add_class(p, "the class the page starts at; its class menu picks any other [default: the first class]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [default: 127.0.0.1, this machine only]")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free one) [default: 8000]")
    add_device(p)
    p.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from ..serve import serve  # FastAPI takes about a second to import: only this command pays for it

    serve(args.checkpoint, args.host, args.port, pick_device(args.device), args.generator, args.class_)
    return 0
