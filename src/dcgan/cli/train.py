"""``dcgan train``, ``sample`` and ``info``: train a run, draw from it, describe it."""

from __future__ import annotations

import argparse
import json

from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device
from ..core.images import save_grid, save_separate
from ..core.models import Discriminator, Generator, count_parameters
from ..core.rundir import RunDir
from ..core.sampling import generate, sample_noise, seeded
from ..data.summary import format_summary, summarize
from ..errors import DCGANError
from ..experiments.latent import save_sheet
from ..training import TrainConfig, reopen, start
from ..training.config import RESUMABLE
from .options import add_checkpoint, add_device, add_field_flags, add_progress, given


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
    trainer = reopen(args.resume, **options) if args.resume else start(TrainConfig(**options))
    print(format_summary(summarize(trainer.data), str(trainer.run_dir)))
    print("\n".join(trainer.overview()), flush=True)
    trainer.fit()
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
    p.add_argument("--nrow", type=int, help="images per grid row [default: square]")
    add_device(p)
    add_progress(p)
    p.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    if args.num < 1:
        raise DCGANError(f"-n must be at least 1, not {args.num}")
    if args.separate and args.sheet:
        raise DCGANError("--separate and --sheet exclude each other", "choose one")
    ckpt = load_checkpoint(args.checkpoint)
    G = ckpt.network("G").to(pick_device(args.device))
    z = sample_noise(args.num, ckpt.spec.nz, ckpt.noise, seeded(args.seed))
    images = generate(G, z, progress=args.progress)
    if args.separate:
        paths = save_separate(images, args.output, progress=args.progress)
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
        "epochs_completed": ckpt.meta["epoch"],
        "step": ckpt.meta["step"],
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


def _position(meta: dict) -> str:
    """Where in training a checkpoint is: "epoch 2, step 12 of 33" for one saved part-way through epoch 2."""
    steps = meta["num_images"] // meta["config"]["batch_size"]
    if meta["batch_in_epoch"]:
        return f"epoch {meta['epoch'] + 1}, step {meta['batch_in_epoch']} of {steps} (part-way)"
    return f"end of epoch {meta['epoch']}"
