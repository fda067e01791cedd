"""The latent-space subcommands: ``interpolate``, ``arithmetic``, ``direction`` and ``attribute-classifier``.

Each writes its figure (PNG), the z of every image in it in reading order
(``<output>.safetensors``, addressable as ``file.safetensors#12``) and, when it measures
something, the table as ``<output>.json``. Each is one call of an experiment's entry point
(:mod:`dcgan.experiments.walk`, ``arithmetic``, ``direction``, ``attributes``); this module
only reads flags, calls it and writes what its report holds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device
from ..core.images import save_gif, save_image
from ..core.models import Generator
from ..core.sampling import at_class, sample_noise, seeded
from ..data import load_dataset
from ..data.summary import format_summary, summarize
from ..errors import DCGANError
from ..experiments import latent
from ..experiments.arithmetic import ArithmeticReport, arithmetic_experiment
from ..experiments.attributes import load_classifier, run_images, save_classifier, train_classifier
from ..experiments.direction import (
    STRENGTHS,
    TURN_STRENGTHS,
    DirectionReport,
    TurnReport,
    direction_experiment,
    turn_experiment,
)
from ..experiments.pose import load_regressor, save_regressor, train_yaw_regressor
from ..experiments.walk import walk_experiment
from .options import (
    add_checkpoint,
    add_class,
    add_device,
    add_progress,
    add_seed,
    add_source_options,
    chosen_class,
    source_options,
    write_json,
)


def open_generator(args: argparse.Namespace) -> tuple[Generator, str, int | None]:
    """The G of --checkpoint and --generator (eval mode) on --device, the kind of noise it was trained on, and
    --class as its class index (None for an unconditional G)."""
    ckpt = load_checkpoint(args.checkpoint)
    label = chosen_class(args, ckpt)
    return ckpt.generator(args.generator).to(pick_device(args.device)), ckpt.noise, label


def _add_common(p: argparse.ArgumentParser, output: str) -> None:
    add_checkpoint(p, generator=True)
    add_class(p, "every image of the figure is of this class")
    add_seed(p, "seed for every random draw")
    add_device(p)
    p.add_argument(
        "-o", "--output", default=output, help=f"figure PNG; the z go to the same name .safetensors [default: {output}]"
    )


def _add_picking(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--classifier",
        metavar="PATH",
        help="attribute classifier (from dcgan attribute-classifier) for condition exemplars",
    )
    p.add_argument(
        "--exemplars", type=int, default=3, help="exemplars per attribute condition (the paper uses 3) [default: 3]"
    )
    p.add_argument(
        "--pool", type=int, default=2000, help="random samples scored to find condition exemplars [default: 2000]"
    )
    p.add_argument(
        "--expect",
        metavar="CONDITION",
        help="attribute condition the outputs should show, e.g. 'Smiling&Male': measure how often the classifier "
        "recognises it, and write the table to <output>.json",
    )


def _picking(args: argparse.Namespace) -> dict:
    """The entry point's arguments from the flags of _add_picking and the seed: how exemplars are picked, and
    what the outputs should show."""
    classifier = load_classifier(args.classifier) if args.classifier else None
    return {"classifier": classifier, "expect": args.expect, "k": args.exemplars, "pool": args.pool, "seed": args.seed}


def _write(report: ArithmeticReport | DirectionReport | TurnReport, out: Path, command: str, measured: bool) -> None:
    """The figure, the z file beside it and, when something was measured (--expect, --turn), the measurement:
    printed and as ``<output>.json``."""
    save_image(report.figure, out)
    if measured:
        write_json(out.with_suffix(".json"), {"command": command, **report.to_dict()})
        print(report.table().markdown())
    zfile = report.save_z(out.with_suffix(".safetensors"))
    print(f"wrote {out} and {zfile}")


def register_interpolate(sub) -> None:
    p = sub.add_parser(
        "interpolate",
        help="walk the latent space between points (figure 4)",
        description="Interpolate between K random points or given z, one figure row per segment; also a GIF.",
    )
    _add_common(p, "walk.png")
    p.add_argument("--points", type=int, default=9, help="number of random points to walk through [default: 9]")
    p.add_argument(
        "--z",
        action="append",
        metavar="REF",
        help="walk through these z instead (file.safetensors#3 or #0,1,2; repeatable, in order)",
    )
    p.add_argument("--steps", type=int, default=8, help="images per segment, both ends included [default: 8]")
    way = p.add_mutually_exclusive_group()
    way.add_argument(
        "--slerp", dest="spherical", action="store_true", default=None, help="spherical (default for Gaussian z)"
    )
    way.add_argument("--linear", dest="spherical", action="store_false", help="straight lines (default for uniform z)")
    p.add_argument("--frame-ms", type=int, default=80, help="GIF frame duration in ms [default: 80]")
    p.add_argument("--gif-scale", type=int, default=1, help="enlarge the GIF's frames this many times [default: 1]")
    p.set_defaults(run=run_interpolate)


def run_interpolate(args: argparse.Namespace) -> int:
    G, noise, label = open_generator(args)
    if args.z:
        points = torch.cat([latent.load_z(ref) for ref in args.z])
    else:
        if args.points < 2:
            raise DCGANError(f"--points must be at least 2, not {args.points}")
        points = sample_noise(args.points, G.spec.nz, noise, seeded(args.seed))
    spherical = noise == "normal" if args.spherical is None else args.spherical
    report = walk_experiment(G, points, args.steps, spherical, label)
    out = save_image(report.figure(), args.output)
    gif = save_gif(report.frames(), out.with_suffix(".gif"), args.frame_ms, args.gif_scale)
    zfile = report.save_z(out.with_suffix(".safetensors"))
    print(f"wrote {out} ({len(report.rows)} rows x {args.steps}), {gif} and {zfile}")
    return 0


def register_arithmetic(sub) -> None:
    p = sub.add_parser(
        "arithmetic",
        help="vector arithmetic on concept means (figure 7)",
        description="Average the z of each concept's exemplars, combine the means by the expression into Y, and "
        "render G(Y) and Y + uniform noise, beside the same arithmetic in pixel space.",
    )
    p.add_argument("expression", help='concept names joined by " + " and " - ", e.g. "smiling woman - woman + man"')
    _add_common(p, "arithmetic.png")
    p.add_argument(
        "--concept",
        action="append",
        default=[],
        metavar="NAME=EXEMPLARS",
        help="exemplars of one concept: z cells (sheet.safetensors#0,1,2) or, with --classifier, an attribute "
        "condition (Smiling&!Male); repeat for every name in the expression",
    )
    _add_picking(p)
    p.add_argument("--noise-samples", type=int, default=8, help="samples of Y + noise besides Y [default: 8]")
    p.add_argument("--noise-scale", type=float, default=0.25, help="uniform noise half-width [default: 0.25]")
    p.add_argument(
        "--trials",
        type=int,
        default=1,
        help="with --expect: repeat with this many disjoint exemplar sets (condition concepts only) [default: 1]",
    )
    p.set_defaults(run=run_arithmetic)


def run_arithmetic(args: argparse.Namespace) -> int:
    values = {}
    for item in args.concept:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise DCGANError(f"cannot read --concept {item!r}", "write --concept NAME=sheet.safetensors#0,1,2")
        values[name.strip()] = value.strip()
    named = {name for _, name in latent.parse_expression(args.expression)}
    if set(values) != named:
        raise DCGANError(
            f"the expression {args.expression!r} names {sorted(named)}, but --concept gives {sorted(values)}",
            "give exactly one --concept NAME=EXEMPLARS per name in the expression",
        )
    if args.trials < 1 or args.noise_samples < 0:
        raise DCGANError("--trials must be at least 1 and --noise-samples 0 or more")
    if args.trials > 1 and not args.expect:
        raise DCGANError("--trials repeats a measurement", "add --expect CONDITION, or drop --trials")
    G, noise, label = open_generator(args)
    report = arithmetic_experiment(
        G, noise, args.expression, values, trials=args.trials, n=args.noise_samples, scale=args.noise_scale,
        label=label, **_picking(args),
    )  # fmt: skip
    _write(report, Path(args.output), "arithmetic", args.expect is not None)
    return 0


def register_direction(sub) -> None:
    p = sub.add_parser(
        "direction",
        help="move samples along a latent direction (figure 8)",
        description="Direction = mean z of positive exemplars - mean z of negative ones; each row is one sample "
        "moved along it at the given strengths.",
    )
    _add_common(p, "direction.png")
    p.add_argument("--positive", metavar="EXEMPLARS", help="z cells (f.safetensors#0,1,2) or condition")
    p.add_argument("--negative", metavar="EXEMPLARS", help="z cells or condition, like --positive")
    _add_picking(p)
    p.add_argument(
        "--turn",
        metavar="REGRESSOR",
        help="figure 8's turn vector in place of --positive and --negative: its ends are the --exemplars samples of "
        "--pool this yaw regressor (dcgan attribute-classifier --yaw) finds looking furthest right and left, and "
        "it measures the outputs' yaw at each strength beside random directions; the table goes to <output>.json",
    )
    p.add_argument(
        "--random-directions", type=int, default=3, help="with --turn: random directions measured alike [default: 3]"
    )
    p.add_argument("-n", "--num", type=int, default=8, help="random samples moved (and measured) [default: 8]")
    p.add_argument("--rows", type=int, default=8, help="how many of them the figure shows [default: 8]")
    p.add_argument(
        "--strengths",
        help="comma-separated multiples of the direction [default: -1,-0.5,0,0.5,1,1.5; with --turn -1,-0.5,0,0.5,1]",
    )
    p.set_defaults(run=run_direction)


def run_direction(args: argparse.Namespace) -> int:
    default = TURN_STRENGTHS if args.turn else STRENGTHS
    try:
        strengths = torch.tensor([float(s) for s in args.strengths.split(",")] if args.strengths else default)
    except ValueError:
        raise DCGANError(f"cannot read --strengths {args.strengths!r}", "write numbers like -1,0,1,2") from None
    if args.num < 1 or args.rows < 1:
        raise DCGANError("-n and --rows must be at least 1")
    if args.turn and (args.positive or args.negative or args.classifier or args.expect):
        raise DCGANError(
            "--turn picks both ends by yaw and measures yaw", "drop --positive, --negative, --classifier and --expect"
        )
    if not args.turn and not (args.positive and args.negative):
        raise DCGANError("a direction needs --positive and --negative", "give both, or --turn REGRESSOR")
    regressor = load_regressor(args.turn) if args.turn else None
    G, noise, label = open_generator(args)
    if regressor is not None:
        report = turn_experiment(at_class(G, label), noise, regressor, strengths=strengths, k=args.exemplars, pool=args.pool,
                                 num=args.num, rows=args.rows, draws=args.random_directions, seed=args.seed)  # fmt: skip
        print(" ".join(f"{key}={value}" for key, value in report.summary().items()))
    else:
        report = direction_experiment(G, noise, args.positive, args.negative, strengths=strengths, num=args.num,
                                      rows=args.rows, label=label, **_picking(args))  # fmt: skip
    _write(report, Path(args.output), "direction", args.turn is not None or args.expect is not None)
    return 0


def register_attribute_classifier(sub) -> None:
    p = sub.add_parser(
        "attribute-classifier",
        aliases=["classifier"],
        help="train the attribute classifier used to pick and score samples (alias: classifier)",
        description="Train a small attribute classifier on real labelled images (CelebA attributes or class "
        "folders). With --checkpoint, the data options (path, resolution, channels, crop, --where, --split) are "
        "the run's own, so the classifier sees images framed exactly like the generator's.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    add_checkpoint(source, required=False, help="load the data exactly as this run's training did")
    source.add_argument(
        "--data", help="labelled images (folder, .zip, ...); give the generator's --resolution/--channels"
    )
    add_source_options(p, ["resolution", "channels", "limit"])
    p.add_argument("--epochs", type=int, default=3, help="passes over the training images [default: 3]")
    p.add_argument("--width", type=int, default=16, help="base width of the network [default: 16]")
    p.add_argument("--holdout", type=float, default=0.1, help="fraction kept for the accuracy report [default: 0.1]")
    p.add_argument("--balance", action="store_true", help="weigh each attribute's rare side as much as its common one")
    p.add_argument(
        "--flip", action="store_true", help="mirror a random half of every batch (augmentation; always with --yaw)"
    )
    p.add_argument("--decay", action="store_true", help="lower the learning rate to 0 along a cosine")
    p.add_argument(
        "--validate",
        action="store_true",
        help="to choose settings: train without as many images as --holdout keeps and report on them, so the "
        "held-out images are never looked at",
    )
    p.add_argument(
        "--yaw",
        action="store_true",
        help="train the yaw regressor instead: the head's turn, learned from CelebA's landmarks, which "
        "dcgan direction --turn picks and measures with (--epochs, --width, --holdout, --decay, --validate and "
        "--seed apply)",
    )
    add_seed(p, "seed for initialisation and order")
    p.add_argument("-o", "--output", help="[default: classifier.safetensors, with --yaw yaw.safetensors]")
    add_progress(p)
    p.set_defaults(run=run_attribute_classifier)


def run_attribute_classifier(args: argparse.Namespace) -> int:
    options = source_options(args)
    if args.checkpoint:
        data = run_images(args.checkpoint, options.limit)
    else:
        data = load_dataset(args.data, options, progress=args.progress)
    if args.epochs < 1 or not 0 < args.holdout < 1:
        raise DCGANError("--epochs must be at least 1 and --holdout between 0 and 1")
    print(format_summary(summarize(data)), flush=True)
    if args.yaw:
        if args.balance:
            raise DCGANError("--balance weighs attributes; the yaw regressor has none", "drop --balance with --yaw")
        regressor = train_yaw_regressor(data, args.epochs, width=args.width, holdout=args.holdout, seed=args.seed,
                                        progress=args.progress, decay=args.decay, validate=args.validate)  # fmt: skip
        path = save_regressor(regressor, args.output or "yaw.safetensors")
        print(regressor.table().markdown())
        report = regressor.report
        print(
            f"wrote {path} ({report['train_images']} training images, {report['held_out']['faces']} {report['split']})"
        )
        return 0
    clf = train_classifier(
        data, args.epochs, width=args.width, holdout=args.holdout, seed=args.seed, progress=args.progress,
        balance=args.balance, flip=args.flip, decay=args.decay, validate=args.validate,
    )  # fmt: skip
    path = save_classifier(clf, args.output or "classifier.safetensors")
    print(clf.table().markdown())
    report = clf.report
    print(f"wrote {path} ({report['train_images']} training images, {report['test_images']} {report['split']})")
    return 0
