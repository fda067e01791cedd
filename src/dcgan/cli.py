"""The ``dcgan`` command: a thin layer over the Python API.

Each subcommand is a ``register_*`` function that adds its parser and sets ``run``;
the flags of ``dcgan train`` are generated from :class:`TrainConfig`, so every config
field has a flag and its help text lives in one place.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from dataclasses import fields

import torch

from .checkpoints import load_checkpoint
from .cli_data import register_cache, register_dedup, register_download, register_prepare
from .cli_features import register_classify, register_features
from .cli_latent import register_arithmetic, register_classifier, register_direction, register_interpolate
from .cli_options import add_device
from .config import TrainConfig
from .errors import DCGANError
from .latent import save_sheet
from .models import Discriminator, Generator, count_parameters
from .sampling import generate, sample_noise, save_grid, save_separate
from .training import RESUMABLE, pick_device, resume, train


def _flag_type(hint) -> type:
    """int | None -> int, etc."""
    if isinstance(hint, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def register_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a DCGAN",
        description="Train a DCGAN with the paper's recipe. With no --data, trains on the bundled MNIST sample.",
    )
    hints = typing.get_type_hints(TrainConfig)  # resolved once: annotations are strings (postponed evaluation)
    for f in fields(TrainConfig):
        kind = _flag_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} [default: {f.default}]"
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        else:
            p.add_argument(
                flag,
                type=kind,
                choices=f.metadata.get("choices"),
                default=argparse.SUPPRESS,
                help=help_text,
                metavar=f.name.upper(),
            )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help=f"continue the run in RUN_DIR from its last checkpoint (only {', '.join(sorted(RESUMABLE))} may change)",
    )
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    given = {k: v for k, v in vars(args).items() if k not in ("run", "command", "resume")}
    trainer = resume(args.resume, **given) if args.resume else train(TrainConfig(**given))
    print(
        f"done: {trainer.epoch} epochs, {trainer.step} steps; samples in {trainer.run_dir / 'samples'}, checkpoint {trainer.checkpoint_dir / 'last.safetensors'}"
    )
    return 0


def register_sample(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained generator",
        description="Generate images from a checkpoint (file or run folder).",
    )
    p.add_argument("--checkpoint", required=True, metavar="PATH", help="a .safetensors checkpoint or a run folder")
    p.add_argument("-n", "--num", type=int, default=64, help="how many images [default: 64]")
    p.add_argument("--seed", type=int, default=0, help="seed for z [default: 0]")
    p.add_argument(
        "-o", "--output", default="samples.png", help="grid PNG, or with --separate a folder [default: samples.png]"
    )
    p.add_argument("--separate", action="store_true", help="write one PNG per image into the folder --output")
    p.add_argument(
        "--sheet",
        action="store_true",
        help="number the grid's cells and write every cell's z to the --output name .safetensors (cell 12: #12)",
    )
    p.add_argument("--nrow", type=int, help="images per grid row [default: square]")
    add_device(p)
    p.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    if args.num < 1:
        raise DCGANError(f"-n must be at least 1, not {args.num}")
    if args.separate and args.sheet:
        raise DCGANError("--separate and --sheet exclude each other", "choose one")
    ckpt = load_checkpoint(args.checkpoint)
    G = ckpt.network("G").to(pick_device(args.device))
    z = sample_noise(args.num, ckpt.spec.nz, ckpt.noise, torch.Generator().manual_seed(args.seed))
    images = generate(G, z)
    if args.separate:
        paths = save_separate(images, args.output)
        print(f"wrote {len(paths)} images to {args.output}/")
    elif args.sheet:
        zfile = save_sheet(images, z, args.output, args.nrow, checkpoint=str(ckpt.path), seed=args.seed)
        print(f"wrote {args.output} and {zfile}")
    else:
        print(f"wrote {save_grid(images, args.output, args.nrow)}")
    return 0


def register_info(sub) -> None:
    p = sub.add_parser(
        "info",
        help="describe a checkpoint or run",
        description="Print a checkpoint's config, progress and parameter counts.",
    )
    p.add_argument("path", help="a .safetensors checkpoint or a run folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run_info)


def run_info(args: argparse.Namespace) -> int:
    ckpt = load_checkpoint(args.path)
    G, D = Generator(ckpt.spec), Discriminator(ckpt.spec)
    info = {
        "checkpoint": str(ckpt.path),
        "epoch": ckpt.meta["epoch"],
        "step": ckpt.meta["step"],
        "batch_in_epoch": ckpt.meta["batch_in_epoch"],
        "saved_at": ckpt.meta.get("saved_at"),
        "model": ckpt.spec.to_dict(),
        "parameters": {"generator": count_parameters(G), "discriminator": count_parameters(D)},
        "generator_blocks": {name: tuple(block[0].weight.shape) for name, block in G.blocks.items()},
        "discriminator_blocks": {name: tuple(block[0].weight.shape) for name, block in D.blocks.items()},
        "config": ckpt.meta["config"],
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


SUBCOMMANDS = [
    register_train,
    register_sample,
    register_info,
    register_prepare,
    register_dedup,
    register_download,
    register_cache,
    register_interpolate,
    register_arithmetic,
    register_direction,
    register_classifier,
    register_features,
    register_classify,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcgan", description="Train, sample and study Deep Convolutional GANs (Radford et al., 2016)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DCGANError as exc:
        print(f"dcgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"\ndcgan {args.command}: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
