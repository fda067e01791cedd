"""``dcgan train``, ``sample`` and ``info``: train a run, draw from it, describe it."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch

from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device
from ..core.images import check_image_output, save_grid, save_separate
from ..core.models import Discriminator, Generator, count_parameters
from ..core.progress import progress_bar
from ..core.rundir import RunDir
from ..core.sampling import class_index, class_rows, generate, sample_noise, seeded
from ..core.tensorfile import check_writable_folder
from ..data.summary import format_summary
from ..errors import DCGANError
from ..experiments.latent import save_sheet
from ..training import Position, TrainConfig, reopen, start
from ..training.config import RESUMABLE
from ..training.options_file import config_from
from .options import add_checkpoint, add_device, add_field_flags, add_progress, add_seed, bounded_int, given

MAX_SAMPLES = 100_000  # -n: 100,000 images is already minutes of work; a typo such as 1e9 would need 400 GB
MAX_GRID = 4096  # a 64 x 64 grid of images; more is not viewable, use --separate
SEPARATE_CHUNK = 1024  # --separate generates and writes this many at a time


def register_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a DCGAN",
        description="Train a DCGAN with the paper's recipe. With no --data, trains on the bundled MNIST sample.",
    )
    add_field_flags(p, TrainConfig)
    p.add_argument(
        "--config",
        metavar="FILE.json",
        help='read options from a JSON object of them (keys as in a run\'s config.json, e.g. "batch_size": 64; '
        "a run's own config.json works too); flags given here override the file",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help=f"continue the run in RUN_DIR from its last checkpoint (only {', '.join(sorted(RESUMABLE))} may change)",
    )
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    options = given(args, TrainConfig)
    if args.resume and args.config:
        raise DCGANError("--resume continues a run with its own config, so --config has nothing to set", "drop one")
    trainer = reopen(args.resume, **options) if args.resume else start(config_from(args.config, **options))
    if trainer.world.is_main:
        print(format_summary(trainer.data_summary, str(trainer.run_dir)))
        print("\n".join(trainer.overview()), flush=True)
    trainer.fit()
    if trainer.world.is_main:
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
    add_checkpoint(p, generator=True)
    p.add_argument(
        "-n",
        "--num",
        type=bounded_int(1, MAX_SAMPLES),
        default=64,
        help=f"how many images, at most {MAX_SAMPLES:,} (a grid or sheet: {MAX_GRID:,}) [default: 64]",
    )
    add_seed(p, "seed for z")
    p.add_argument(
        "-o", "--output", default="samples.png", help="grid PNG, or with --separate a folder [default: samples.png]"
    )
    p.add_argument("--separate", action="store_true", help="write one PNG per image into the folder --output")
    p.add_argument(
        "--sheet",
        action="store_true",
        help="number the grid's cells and write every cell's z to the --output name .safetensors (cell 12: #12)",
    )
    p.add_argument(
        "--nrow", type=bounded_int(1), help="images per grid row [default: square; conditional: one row per class]"
    )
    p.add_argument(
        "--class",
        dest="class_",
        metavar="K",
        help="a conditional model: draw only this class, by index or name (default: every class, one row each)",
    )
    add_device(p)
    add_progress(p)
    p.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    if args.separate and args.sheet:
        raise DCGANError("--separate and --sheet exclude each other", "choose one")
    if not args.separate and args.num > MAX_GRID:
        raise DCGANError(f"a grid of {args.num:,} images is too large to view", f"pass --separate, or -n {MAX_GRID}")
    output = Path(args.output)
    # the output is checked before the checkpoint is read and anything generated
    (check_writable_folder if args.separate else check_image_output)(output)
    ckpt = load_checkpoint(args.checkpoint)
    G = ckpt.generator(args.generator).to(pick_device(args.device))
    z = sample_noise(args.num, ckpt.spec.nz, ckpt.noise, seeded(args.seed))
    labels, label, nrow = None, None, args.nrow
    if args.class_ is not None:
        label = class_index(args.class_, ckpt.class_names)
        labels = torch.full((args.num,), label)
    elif ckpt.spec.num_classes:
        labels = class_rows(args.num, ckpt.spec.num_classes)
        nrow = nrow or math.ceil(args.num / ckpt.spec.num_classes)
    if args.separate:  # in chunks: -n may be large
        with progress_bar(args.num, "sampling", args.progress) as bar:
            for start in range(0, args.num, SEPARATE_CHUNK):
                part = slice(start, start + SEPARATE_CHUNK)
                chunk = generate(G, z[part], None if labels is None else labels[part])
                save_separate(chunk, output, first=start)
                bar.update(len(chunk))
        print(f"wrote {args.num} images to {args.output}/")
        return 0
    images = generate(G, z, labels, progress=args.progress)
    if args.sheet:
        zfile = save_sheet(images, z, args.output, nrow, checkpoint=str(ckpt.path), seed=args.seed, label=label)
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
        "epochs_completed": ckpt.meta.get("epoch"),  # None for a pytorch/examples file
        "step": ckpt.meta.get("step"),
        "position": _position(ckpt.meta),
        "saved_at": ckpt.meta.get("saved_at"),
        "model": ckpt.spec.to_dict(),
        "parameters": {"generator": count_parameters(G), "discriminator": count_parameters(D)},
        "generator_blocks": {name: tuple(block[0].weight.shape) for name, block in G.blocks.items()},
        "discriminator_blocks": {name: tuple(block[0].weight.shape) for name, block in D.blocks.items()},
        "config": ckpt.meta["config"],
    }
    data = ckpt.meta.get("data")  # checkpoints written before the data summary existed have none
    if args.json:
        print(json.dumps(info | {"data": data}, indent=2))
        return 0
    if data:
        run = RunDir(ckpt.path.parent.parent)
        print(format_summary(data, str(run.root) if run.config.exists() else None))
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


def _position(meta: dict) -> str | None:
    """Where in training a checkpoint is: "epoch 2, step 12 of 33" for one saved part-way through epoch 2
    (None for a file from elsewhere, e.g. pytorch/examples, that does not say)."""
    position = Position.of_checkpoint(meta)
    return None if position is None else str(position)
