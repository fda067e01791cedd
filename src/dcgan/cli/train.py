"""``dcgan train``, ``sample`` and ``info``: train a run, draw from it, describe it."""

from __future__ import annotations

import argparse
import json
import math

import torch

from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device
from ..core.images import save_grid, save_separate
from ..core.models import Discriminator, Generator, count_parameters
from ..core.sampling import class_index, class_rows, generate, sample_noise, seeded
from ..errors import DCGANError
from ..experiments.latent import save_sheet
from ..training import TrainConfig, resume, train
from ..training.config import RESUMABLE
from .options import add_checkpoint, add_device, add_field_flags, given


def register_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a DCGAN",
        description="Train a DCGAN with the paper's recipe. With no --data, trains on the bundled MNIST sample.",
    )
    add_field_flags(p, TrainConfig)
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help=f"continue the run in RUN_DIR from its last checkpoint (only {', '.join(sorted(RESUMABLE))} may change)",
    )
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    options = given(args, TrainConfig)
    trainer = resume(args.resume, **options) if args.resume else train(TrainConfig(**options))
    print(
        f"done: {trainer.epoch} epochs, {trainer.step} steps; samples in {trainer.run.samples}, "
        f"checkpoint {trainer.run.last_checkpoint}"
    )
    return 0


def register_sample(sub) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained generator",
        description="Generate images from a checkpoint (file or run folder).",
    )
    add_checkpoint(p)
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
    p.add_argument("--nrow", type=int, help="images per grid row [default: square; conditional: one row per class]")
    p.add_argument(
        "--class",
        dest="class_",
        metavar="K",
        help="a conditional model: draw only this class, by index or name (default: every class, one row each)",
    )
    add_device(p)
    p.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    if args.num < 1:
        raise DCGANError(f"-n must be at least 1, not {args.num}")
    if args.separate and args.sheet:
        raise DCGANError("--separate and --sheet exclude each other", "choose one")
    ckpt = load_checkpoint(args.checkpoint)
    G = ckpt.network("G").to(pick_device(args.device))
    z = sample_noise(args.num, ckpt.spec.nz, ckpt.noise, seeded(args.seed))
    labels, nrow = None, args.nrow
    if args.class_ is not None:
        labels = torch.full((args.num,), class_index(args.class_, ckpt.class_names))
    elif ckpt.spec.num_classes:
        labels = class_rows(args.num, ckpt.spec.num_classes)
        nrow = nrow or math.ceil(args.num / ckpt.spec.num_classes)
    images = generate(G, z, labels)
    if args.separate:
        paths = save_separate(images, args.output)
        print(f"wrote {len(paths)} images to {args.output}/")
    elif args.sheet:
        zfile = save_sheet(images, z, args.output, nrow, checkpoint=str(ckpt.path), seed=args.seed)
        print(f"wrote {args.output} and {zfile}")
    else:
        print(f"wrote {save_grid(images, args.output, nrow)}")
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
