"""``dcgan reproduce`` and ``dcgan results``: the paper's experiments as resumable recipes, and their page."""

from __future__ import annotations

import argparse

from ..reproduce import RECIPES, SCALES, Levers, estimate_hours, gather, plan, reproduce
from ..reproduce import context as recipe_context
from ..reproduce.plan import pick_hours
from ..reproduce.step_times import reference_machine
from .options import add_device, add_progress


def register_reproduce(sub) -> None:
    lines = [f"{name}: {r.title} (cpu: about {estimate_hours(r, 'cpu'):.1f} h)" for name, r in RECIPES.items()]
    p = sub.add_parser(
        "reproduce",
        help="run one of the paper's experiments end to end, resumably, with a results page beside the paper's numbers",
        description="Run a recipe's stages in order into one results folder: decode the data, train from the "
        "recipe's config file, then each experiment on the trained model; write RESULTS/results.html. "
        "Stages already complete are skipped and training continues from its checkpoint, so after Ctrl-C or "
        "a crash the same command continues. Recipes: " + "; ".join(lines) + f". Hours: {reference_machine()}.",
    )
    p.add_argument("name", choices=tuple(RECIPES), help="the recipe")
    p.add_argument(
        "--scale",
        choices=SCALES,
        default="cpu",
        help="test: tiny, seconds; cpu: under 8 hours on a 2-core CPU; paper: the paper's sizes, for GPUs [default: cpu]",
    )
    p.add_argument("--out", metavar="DIR", help="the results folder [default: results/NAME-SCALE]")
    p.add_argument(
        "--data-root",
        metavar="DIR",
        help="where the data sets are (mnist/, cifar10-jpg.zip, celeba-10k.zip, svhn/, lsun/) "
        "[default: $DCGAN_DATA, else ../shared/data]",
    )
    p.add_argument(
        "--plan", action="store_true", help="list the stages, what is done and the config files; run nothing"
    )
    for net in ("G", "D"):
        p.add_argument(
            f"--{net.lower()}-width",
            type=int,
            metavar="N",
            help=f"train every model of the recipe with {net}'s base width N in place of its config files' "
            "(a lever to try; the page and the folder record it) [default: the config's]",
        )
    p.add_argument(
        "--pick-by-validation",
        action="store_true",
        help="recipes that probe D's features (cifar10, svhn): probe the kept checkpoint with the best accuracy on "
        "the validation split instead of the last (the test split is not looked at to choose; the page says which)",
    )
    add_device(p)
    add_progress(p)
    p.set_defaults(run=run_reproduce)


def run_reproduce(args: argparse.Namespace) -> int:
    levers = Levers(args.g_width, args.d_width, args.pick_by_validation)
    if args.plan:
        r, ctx = recipe_context(args.name, args.scale, args.out, args.data_root, levers=levers)
        hours, picked = estimate_hours(r, args.scale, levers.widths()), ""
        if levers.pick_by_validation:  # priced once, said apart
            pick, kept = pick_hours(r, args.scale, levers.widths())
            hours += pick
            picked = f", of which {pick:.1f} h the pick's scoring of {kept} kept checkpoint{'s' * (kept > 1)}"
        print(f"{r.title}, scale {args.scale}: about {hours:.1f} h on {reference_machine()}{picked}")
        print(f"results folder {ctx.results}; data {', '.join(str(p) for p, _ in ctx.data.values())}")
        print("\n".join(plan(r, ctx)))
        return 0
    page = reproduce(
        args.name, args.scale, args.out, args.data_root, device=args.device, progress=args.progress, levers=levers
    )
    print(f"done: {page}")
    return 0


def register_results(sub) -> None:
    p = sub.add_parser(
        "results",
        help="gather recipe folders of dcgan reproduce into one markdown page",
        description="Write one markdown page over the results folders of dcgan reproduce (their results.json), "
        "with small copies of the figures beside it; recipes without a folder are listed as not yet run, and a "
        "recipe's folder run with levers (--g-width 128) gets a section of its own after the recipe's.",
    )
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="results folders of dcgan reproduce")
    p.add_argument("-o", "--output", default="docs/results.md", help="[default: docs/results.md]")
    p.add_argument("--scale", choices=SCALES, default="cpu", help="the scale the page reports [default: cpu]")
    p.add_argument(
        "--data-root",
        metavar="DIR",
        help="where recipes find their data, to say which cannot run here [default: as reproduce]",
    )
    p.set_defaults(run=run_results)


def run_results(args: argparse.Namespace) -> int:
    print(f"wrote {gather(args.folders, args.output, args.scale, args.data_root)}")
    return 0
