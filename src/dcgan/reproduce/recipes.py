"""The recipes: for each of the paper's data sets, its fixed sequence of stages and the settings of each scale.

Scales:
- ``test``: tiny models on a few hundred images, every recipe in seconds (what CI runs);
- ``cpu``: a reduced size that finishes within a working day on 2 cores of an AVX2-only CPU (the
  hours each recipe states are computed from the steps it trains, see :func:`estimate_hours`);
- ``paper``: the paper's sizes (the ``paper`` preset, full data sets), meant for GPUs and ``torchrun``.

A recipe's training stages are config files shipped in ``configs/RECIPE/SCALE/STAGE.json``;
the experiment settings of each scale are :data:`~.settings.SETTINGS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

from .data import CELEBA, CIFAR10, LSUN_BEDROOMS, MNIST, SVHN, DataSet
from .runner import Stage
from .settings import SETTINGS, RecipeSettings
from .stage_context import Context
from .stages import (
    arithmetic_stage,
    classifier_stage,
    dedup_data,
    direction_stage,
    forget_drawn_stage,
    forget_stage,
    guided_backprop_stage,
    memorisation_stage,
    nn_protocol_stage,
    prepare_data,
    probe_progress,
    probe_stage,
    quality_stage,
    train_stage,
    turn_stage,
    walk_stage,
)

PAPER_EPOCHS = {1: "figure 2 (LSUN, 1 epoch)", 5: "figure 3 (LSUN, 5 epochs)"}  # the epochs the paper shows


@dataclass(frozen=True)
class Recipe:
    """One data set of the paper: what it needs, its stages, and how long it takes at each scale."""

    name: str
    title: str
    data: dict[str, DataSet]  # name in the stages -> data set
    stages: Callable[[Context], list[Stage]]
    train_images: dict[str, int]  # scale -> images in one epoch of the main training stage (for the estimate)
    extra_hours: dict[str, float] = field(default_factory=dict)  # scale -> hours of the stages besides training
    settings: dict[str, dict] = field(default_factory=dict)  # scale -> overrides of its RecipeSettings, by field
    # the --g-width/--d-width a section of docs/results.md was run with at --scale cpu: benchmarks/recipe_hours times
    # those models too, so the hours --plan states for them are measured, not scaled from the config's by counted work
    lever_widths: tuple[dict[str, int], ...] = ()

    def settings_for(self, scale: str) -> RecipeSettings:
        return replace(SETTINGS[scale], **self.settings.get(scale, {}))


def _train(name: str, dataset: str, about: str, shown: dict[int, str] = PAPER_EPOCHS) -> Stage:
    """A training stage; ``shown``: the epochs whose samples the page sets beside a figure of the paper."""
    return Stage(name, lambda ctx, folder: train_stage(ctx, folder, name, dataset, shown), about, trains=True)


def _bind(ctx: Context, stages: list[Stage]) -> list[Stage]:
    """The stages with the context bound: each then only needs its folder."""
    return [Stage(s.name, partial(s.work, ctx), s.about, s.trains, s.progress) for s in stages]


def mnist_stages(ctx: Context) -> list[Stage]:
    return _bind(
        ctx,
        [
            Stage("data", lambda c, f: prepare_data(c, f, [("train", "mnist"), ("train-conditional", "mnist")]),
                  "decode MNIST once into the cache"),
            _train("train", "mnist", "train a DCGAN on MNIST: samples after 1 and 5 epochs"),
            _train("train-conditional", "mnist", "train a class-conditional DCGAN on MNIST (the appendix's model)", {}),
            Stage("nn-protocol", nn_protocol_stage, "the appendix's 1-NN table: conditional samples against real"),
        ],
    )  # fmt: skip


def _probe_stages(ctx: Context, dataset: str, protocol: str, what: str) -> list[Stage]:
    return _bind(
        ctx,
        [
            Stage("data", lambda c, f: prepare_data(c, f, [("train", dataset)]), f"decode {what} once into the cache"),
            _train("train", dataset, f"train a DCGAN on {what} with a D as wide as the paper's"),
            Stage("linear-probe", lambda c, f: probe_stage(c, f, protocol, dataset),
                  "section 5: L2-SVMs on D's features beside random D, pixels and K-means", progress=probe_progress),
        ],
    )  # fmt: skip


def faces_stages(ctx: Context) -> list[Stage]:
    return _bind(
        ctx,
        [
            Stage("data", lambda c, f: prepare_data(c, f, [("train", "celeba")]), "decode CelebA once into the cache"),
            _train("train", "celeba", "train a DCGAN on CelebA faces at 64x64: samples after 1 and 5 epochs"),
            Stage("classifier", classifier_stage, "an attribute classifier on the same faces, to pick and score"),
            Stage("walk", lambda c, f: walk_stage(c, f, "celeba"), "figure 4: a walk through 9 points of z, and how smooth"),
            Stage("arithmetic", arithmetic_stage, "figure 7: smile and glasses arithmetic, scored"),
            Stage("direction", direction_stage, "a smile direction, scored by strength"),
            Stage("turn", turn_stage, "figure 8: the turn vector, its yaw measured beside random directions"),
            Stage("forget", forget_stage, "figure 6: forget the smile, beside as many random maps dropped"),
            Stage("guided-backprop", lambda c, f: guided_backprop_stage(c, f, "celeba"), "figure 5: trained vs random D"),
            Stage("memorisation", lambda c, f: memorisation_stage(c, f, "celeba"), "section 4.1: nearest training images"),
        ],
    )  # fmt: skip


# the samples the bedrooms page shows: the paper's figures are after 1 and 5 epochs of 3 million bedrooms; an epoch
# of the recipe's 8,000 is 1/380 of one, so its first pass, a quarter and the end stand beside them
LSUN_SHOWN = {
    1: "figure 2 is after 1 epoch of 3 million bedrooms; this is 1 pass of 8,000",
    24: "",
    48: "",
}


def lsun_stages(ctx: Context) -> list[Stage]:
    stages = [
        Stage("data", lambda c, f: dedup_data(c, f, "train", "lsun"),
              "section 4.1: decode the bedrooms and remove near duplicates"),
        _train("train", "lsun", "train a DCGAN on LSUN bedrooms at 64x64: figures 2 and 3", LSUN_SHOWN),
        Stage("quality", lambda c, f: quality_stage(c, f, "lsun", "cifar10"),
              "quality against training time, on bedrooms held out of training"),
        Stage("walk", lambda c, f: walk_stage(c, f, "lsun"), "figure 4: walks through z, and how smooth"),
        Stage("guided-backprop", lambda c, f: guided_backprop_stage(c, f, "lsun"), "figure 5: trained vs random D"),
        Stage("memorisation", lambda c, f: memorisation_stage(c, f, "lsun"), "section 4.1: nearest training images"),
    ]  # fmt: skip
    if ctx.config_file("windows").is_file() and not ctx.levers.widths():  # boxes drawn on this scale's model
        stages.append(Stage("forget", lambda c, f: forget_drawn_stage(c, f, "windows"),
                            "figure 6: forget the windows boxed by hand, beside as many random maps"))  # fmt: skip
    return _bind(ctx, stages)


# extra_hours, the hours of the stages besides training, from the compute tables of the archived results folders
# (docs/results/NAME/results.json: each stage's seconds as the recipe's run recorded them, on 2 cores of an AMD EPYC
# Zen 4 with its AVX-512 kernels, one or two torch threads; not measured with the AVX2 kernels of the reference CPU
# kind, where they may take somewhat longer):
# - mnist cpu 0.08: data 2 s + nn-protocol 279 s (three sampling seeds, settings.nn_seeds);
# - cifar10 cpu 0.21: data 0.01 h + linear-probe 0.20 h (its record rebuilt from the page, in hours to 0.01);
# - faces cpu 0.1: 343 s, turn 131 s, memorisation 46 s, forget 44 s, guided-backprop 44 s, classifier 34 s,
#   arithmetic 29 s, walk 8 s, direction 6 s, data 0 s (the faces-g-width-128 folder: 309 s);
# - svhn cpu 0.3: no record (SVHN is not on the machine the recipes ran on); cifar10's 0.21 for the same stages,
#   scaled by the training images, 73,257 / 50,000;
# - lsun cpu 0.08: 293 s, quality 174 s, guided-backprop 44 s, memorisation 43 s, forget 21 s, data 6 s, walk 6 s;
# - every paper scale: no record (no paper-scale run finished); guesses, to be replaced by a finished run's.
RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("mnist", "MNIST: samples, and the appendix's conditional 1-NN table", {"mnist": MNIST}, mnist_stages,
               {"test": 512, "cpu": 60000, "paper": 60000}, {"cpu": 0.08, "paper": 0.1}),
        Recipe("cifar10", "CIFAR-10: D as a feature extractor (table 1)", {"cifar10": CIFAR10},
               lambda ctx: _probe_stages(ctx, "cifar10", "cifar10", "CIFAR-10"),
               {"test": 1000, "cpu": 50000, "paper": 50000}, {"cpu": 0.21, "paper": 1.0},
               lever_widths=({"d_width": 256},)),
        Recipe("faces", "CelebA faces: latent space, inside the networks, memorisation", {"celeba": CELEBA},
               faces_stages, {"test": 640, "cpu": 10000, "paper": 202599}, {"cpu": 0.1, "paper": 0.5},
               lever_widths=({"g_width": 128},)),
        Recipe("svhn", "SVHN: D as a feature extractor with 1000 labels (table 2)", {"svhn": SVHN},
               lambda ctx: _probe_stages(ctx, "svhn", "svhn-1000", "SVHN"),
               {"test": 1000, "cpu": 73257, "paper": 73257}, {"cpu": 0.3, "paper": 0.5},
               {"test": {"validation_size": 200}}),
        Recipe("lsun", "LSUN bedrooms: samples, quality against time, walks, inside the networks, memorisation",
               {"lsun": LSUN_BEDROOMS, "cifar10": CIFAR10}, lsun_stages,
               {"test": 640, "cpu": 8000, "paper": 3033042}, {"cpu": 0.08, "paper": 1.0},
               {"test": {"dedup_radius": 10}, "cpu": {"dedup_radius": 10}, "paper": {"dedup_radius": 4}}),
    )
}  # fmt: skip
