"""The paper, reproduced: one resumable recipe per data set, and a results page beside the paper's numbers.

``reproduce("faces", "cpu")`` runs the faces recipe's stages in order into one results folder
(``results/faces-cpu`` by default): decode the data, train from the recipe's config file, then
each experiment on the trained model. A stage whose outputs are complete is skipped and the
training stage continues from its last checkpoint, so a recipe stopped at any moment (Ctrl-C,
kill -9) continues where it stopped when run again. After every stage the folder's
``results.html`` is rewritten; :func:`gather` collects recipe folders into one markdown page.

This package sits above the experiments and below the command line: ``dcgan reproduce`` and
``dcgan results`` are thin wrappers of :func:`reproduce` and :func:`gather`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..core.checkpoints import resolve_checkpoint_path
from ..core.folderlock import holding
from ..core.rundir import RunDir
from ..errors import DCGANError
from ..training import Callback
from ..training.distributed import env_world
from ..training.invocation import program
from .data import data_root as resolve_root
from .data import default_data_root
from .page import PAGE, SUMMARY, gather, write_page
from .plan import estimate_hours, plan
from .recipes import RECIPES, Recipe
from .runner import run_stage, stage_folder
from .settings import SCALES
from .stage_context import RUN, Context, Levers

__all__ = [
    "RECIPES",
    "SCALES",
    "Levers",
    "context",
    "default_data_root",
    "estimate_hours",
    "gather",
    "plan",
    "recipe",
    "recipe_of",
    "reproduce",
]


def recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise DCGANError(f"unknown recipe {name!r}", f"choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def context(
    name: str,
    scale: str = "cpu",
    out: str | Path | None = None,
    data_root: str | Path | None = None,
    *,
    device: str = "auto",
    progress: bool = True,
    callbacks: list[Callback] | None = None,
    levers: Levers | None = None,
) -> tuple[Recipe, Context]:
    """The recipe and its context: the data located (a clear error when it is missing), the folders named.
    ``levers`` change the recipe's own settings (widths, the probe's checkpoint) to try a lever."""
    r = recipe(name)
    if scale not in SCALES:
        raise DCGANError(f"unknown scale {scale!r}", f"choose one of {', '.join(SCALES)}")
    root = resolve_root(data_root)
    data = {key: dataset.locate(root) for key, dataset in r.data.items()}
    results = Path(out) if out else Path("results") / f"{name}-{scale}"
    settings = r.settings_for(scale)
    ctx = Context(
        name,
        scale,
        results,
        data,
        settings,
        device,
        progress,
        list(callbacks or []),
        data_root=root,
        levers=levers or Levers(),
    )
    if ctx.levers.pick_by_validation and "linear-probe" not in {stage.name for stage in r.stages(ctx)}:
        raise DCGANError(f"the {name} recipe probes no D features to pick a checkpoint for",
                         "leave out --pick-by-validation (it is for the recipes that train an SVM on D's features)")  # fmt: skip
    return r, ctx


def reproduce(
    name: str,
    scale: str = "cpu",
    out: str | Path | None = None,
    data_root: str | Path | None = None,
    *,
    device: str = "auto",
    progress: bool = True,
    callbacks: list[Callback] | None = None,
    levers: Levers | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Run (or continue) the recipe ``name`` at ``scale``, with ``levers`` over its own settings; returns its
    results page."""
    r, ctx = context(name, scale, out, data_root, device=device, progress=progress, callbacks=callbacks, levers=levers)
    _refuse_other_recipe(ctx)
    ctx.results.mkdir(parents=True, exist_ok=True)
    stages = r.stages(ctx)
    for index, stage in enumerate(stages, 1):
        ctx.stage_folders[stage.name] = stage_folder(ctx.results, index, stage)
    if not env_world().is_main:  # under torchrun: the other processes only help to train
        for stage in stages:
            if stage.trains:
                run_stage(ctx.stage_folders[stage.name], stage, lambda _: None)
        return ctx.results / PAGE
    with holding(ctx.results, f"dcgan reproduce {name}"):  # core/folderlock.py: one writer per folder
        try:
            for stage in stages:
                run_stage(ctx.stage_folders[stage.name], stage, log)
                write_page(r, ctx, stages)
        except KeyboardInterrupt as stop:  # the recipe continues as a whole (a training stage's own hint names its run)
            again = f"{program()} reproduce {name} --scale {scale}{ctx.levers.flags()} --out {ctx.results}"
            if data_root is not None:  # the same data, wherever it was found
                again += f" --data-root {resolve_root(data_root)}"
            if device != "auto":
                again += f" --device {device}"
            raise type(stop)(f"continue with: {again}") from None  # Ctrl-C or SIGTERM, as it came
        finally:  # also after Ctrl-C or an error: the page shows what is done so far
            page = write_page(r, ctx, stages)
    log(f"results page: {page}")
    return page


def _held_recipe(results: Path) -> dict | None:
    """What a results folder's ``results.json`` says it holds (``recipe``, ``scale``...); None before its first
    stage, or for a folder of something else."""
    try:
        held = json.loads((results / SUMMARY).read_text())
    except (OSError, ValueError):
        return None
    return held if isinstance(held, dict) else None


def recipe_of(checkpoint: str | Path) -> dict | None:
    """The recipe, scale and stage whose training wrote ``checkpoint`` (a file or run folder), as
    ``{"recipe", "scale", "stage"}``; None for a run of its own. A recipe's training run is
    ``RESULTS/NN-STAGE/run``, and ``RESULTS/results.json`` names the recipe and scale."""
    path = resolve_checkpoint_path(checkpoint).resolve()
    run = path.parent.parent
    if RunDir(run).checkpoints != path.parent or run.name != RUN:
        return None
    held = _held_recipe(run.parent.parent)
    if held is None or not {"recipe", "scale"} <= held.keys():
        return None
    return {"recipe": held["recipe"], "scale": held["scale"], "stage": run.parent.name.partition("-")[2]}


def _refuse_other_recipe(ctx: Context) -> None:
    """A folder holds one recipe at one scale: another's stages would count as done and be skipped."""
    held = _held_recipe(ctx.results)
    if held is None:
        return
    if (held.get("recipe"), held.get("scale")) != (ctx.recipe, ctx.scale):
        raise DCGANError(
            f"{ctx.results} holds the {held.get('recipe')} recipe at scale {held.get('scale')}",
            "choose another --out for this one",
        )
    held_levers = Levers.from_dict(held.get("levers", {}))
    if held_levers != ctx.levers:
        trained = f"with{held_levers.flags()}" if held_levers.flags() else "with its own settings"
        asked = ctx.levers.flags().strip() or "none of those options"
        raise DCGANError(
            f"{ctx.results} holds the {ctx.recipe} recipe {trained}, not {asked}",
            "give the same options to continue it, or choose another --out",
        )
