"""How long a recipe takes, and what of it is done: computed from its config files, before anything runs."""

from __future__ import annotations

from pathlib import Path

from ..core.checkpoints import checkpoint_meta
from ..core.features import feature_dim
from ..errors import DCGANError
from ..training.options_file import read_options
from .recipes import Recipe
from .runner import read_done, session_seconds, stage_folder
from .stage_context import CHECKPOINT, Context, config_file
from .step_times import Model, step_seconds

# --pick-by-validation scores each checkpoint the training keeps on validation: D's features of every training
# image, then the SVM's C grid on them. Measured on the reference CPU kind (docs/reproduce.md, "What the pick
# costs"): 583 s for D width 256 at 32x32 (28,672 features) on CIFAR-10's 50,000 images, 2 threads, fp32. Other
# models and sets scale by features x images: the features written and each of the SVM's passes grow with both.
PICK_SECONDS_PER_FEATURE_AND_IMAGE = 583.0 / (28_672 * 50_000)


def training_stages(r: Recipe, scale: str, widths: dict[str, int] | None = None) -> dict[str, dict]:
    """The recipe's training config files at ``scale`` (``train*.json``, named for their stages), by stage name,
    with ``widths`` in place of theirs. The folder may also hold a stage's hand-made data, such as the boxes of
    windows drawn on the lsun sheet."""
    folder = config_file(r.name, scale, "train").parent
    return {path.stem: read_options(path) | (widths or {}) for path in sorted(folder.glob("train*.json"))}


def training_steps(r: Recipe, scale: str, options: dict) -> int:
    images = min(r.train_images[scale], options.get("limit") or r.train_images[scale])
    batch = options.get("batch_size", 128)
    if options.get("steps"):
        return options["steps"]
    if options.get("kimg"):
        return round(options["kimg"] * 1000 / batch)
    return options.get("epochs", 5) * (images // batch)


def estimate_hours(r: Recipe, scale: str, widths: dict[str, int] | None = None, pick: bool = False) -> float:
    """Hours of the whole recipe on the reference CPU kind of step_times.json: training steps x its step time, plus
    the hours of the stages besides training (:attr:`Recipe.extra_hours`). With ``widths`` in place of the
    configs': the wider models' measured steps, or where unmeasured, the configs' scaled by the work of the nets
    (:func:`~.step_times.step_seconds`). With ``pick``, also :func:`pick_hours`."""
    seconds = 0.0
    for options in training_stages(r, scale).values():
        seconds += training_steps(r, scale, options | (widths or {})) * step_seconds(options, widths=widths)
    return seconds / 3600 + r.extra_hours.get(scale, 0.0) + (pick_hours(r, scale, widths)[0] if pick else 0.0)


def pick_hours(r: Recipe, scale: str, widths: dict[str, int] | None = None) -> tuple[float, int]:
    """Hours of ``--pick-by-validation``'s scoring on the reference CPU kind, and how many checkpoints it scores:
    those the main training keeps (every ``checkpoint_every`` epochs, and the last)."""
    options = training_stages(r, scale, widths)["train"]
    images = r.train_images[scale]
    epochs = training_steps(r, scale, options) * options.get("batch_size", 128) // images
    every = options.get("checkpoint_every", 5)
    kept = max(1, epochs // every + (epochs % every != 0)) if every else 1  # the last, also under one epoch
    scored = min(images, r.settings_for(scale).probe_limit or images)
    return kept * feature_dim(Model.of(options).spec()) * scored * PICK_SECONDS_PER_FEATURE_AND_IMAGE / 3600, kept


def plan(r: Recipe, ctx: Context) -> list[str]:
    """One line per stage: its folder, whether it is done, begun or to do, what it does; training stages with
    their steps (and, when begun, the step their last checkpoint reached and the hours for the rest, at the
    estimate's pace and at the run's own)."""
    widths = ctx.levers.widths()
    configs, own = training_stages(r, ctx.scale, widths), training_stages(r, ctx.scale)
    lines = []
    for index, stage in enumerate(r.stages(ctx), 1):
        folder = stage_folder(ctx.results, index, stage)
        seconds = session_seconds(folder)
        state = "done" if read_done(folder) else "begun" if seconds else "to do"
        extra = f" [{seconds / 3600:.2f} h so far]" if state == "begun" else ""
        if stage.name in configs:
            total = training_steps(r, ctx.scale, configs[stage.name])
            steps = f"{total:,} steps"
            if state == "begun" and (step := _checkpointed_step(folder)) is not None:
                left = max(total - step, 0)
                estimated = left * step_seconds(own[stage.name], widths=widths) / 3600
                steps = f"at step {step:,} of {steps}; about {estimated:.1f} h left at the estimate's pace"
                if step:  # the machine it runs on may be faster or slower than the estimate's
                    steps += f", {left * seconds / step / 3600:.1f} h at this run's own so far"
            extra += f" ({steps}; config {ctx.config_file(stage.name)})"
        if state == "begun" and stage.progress and (stands := stage.progress(folder)):
            extra += f" ({stands})"
        lines.append(f"{folder.name:20} {state:6} {stage.about}{extra}")
    return lines


def _checkpointed_step(folder: Path) -> int | None:
    """The step of a training stage's last checkpoint, or None before its first (or when it is unreadable)."""
    try:
        return checkpoint_meta(folder / CHECKPOINT)["step"]
    except DCGANError:
        return None
