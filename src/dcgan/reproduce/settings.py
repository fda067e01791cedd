"""The experiment settings of each scale: how many samples, draws, epochs each stage uses (training is in the
config files). A recipe may override a few of its scale's settings (:attr:`~.recipes.Recipe.settings`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecipeSettings:
    """What the experiment stages of one scale use; ``None``: all of it (every image, the protocol's own value)."""

    # MNIST: the appendix's nearest-neighbour table
    nn_sizes: tuple[int, ...]  # the N of the table's columns
    nn_train_limit: int | None  # real training digits read (the real-data rows draw from them)
    nn_test_limit: int | None
    nn_seeds: tuple[int, ...]  # sampling seeds: the table gives each cell's mean and spread over them
    # CIFAR-10 and SVHN: D as a feature extractor (section 5)
    kmeans_k: int
    c_grid: tuple[float, ...]  # the SVM's C values, chosen on the validation split
    max_iter: int  # L-BFGS iterations per SVM fit
    labels_per_class: int | None  # None: the protocol's own
    validation_size: int | None
    draws: int | None
    probe_limit: int | None  # training images read
    probe_test_limit: int | None
    # faces: the attribute classifier, latent space, forgetting
    classifier_epochs: int
    classifier_balance: bool  # each attribute's rare side weighed as much as its common one (--balance)
    pool: int  # samples scored to pick exemplars
    arithmetic_trials: int  # disjoint exemplar sets the arithmetic is measured on
    direction_k: int  # exemplars of each end of the direction
    direction_n: int  # samples moved along it and measured (the turn vector's too, its k exemplars direction_k)
    yaw_epochs: int  # the yaw regressor's, which picks and measures the turn vector's samples
    turn_draws: int  # random directions the turn vector is measured beside
    sheet: int  # samples the forgetting stage boxes from
    boxed: int  # of which boxed (the paper boxed 150)
    forget_most: int | None  # maps dropped at most (None: every map of positive weight)
    held_out: int  # fresh samples of the forgetting measure; held-out images and samples of the memorisation check
    # faces and LSUN: inside D, memorisation
    real_limit: int | None  # real images read (None: all)
    # LSUN: near duplicates, quality against time, the walks' smoothness
    dedup_radius: int | None  # near duplicates within this many bits are removed before training (None: kept)
    quality_epochs: int  # epochs of the CIFAR-10 classifier whose features score quality against time
    quality_limit: int | None  # CIFAR-10 images it trains on (None: all 50,000)
    quality_n: int  # samples (and real images, at most) scored per checkpoint
    walks: int  # walks whose steps are measured against real images in a random order
    blind: int  # fresh samples drawn three ways on the sheet where a person counts a forgotten object


SCALES = ("test", "cpu", "paper")
BY_SCALE = {  # setting: its value at (test, cpu, paper)
    "nn_sizes": ((100,), (1000, 10000, 50000), (1000, 10000, 50000)),
    "nn_train_limit": (2000, None, None),
    "nn_test_limit": (500, None, None),
    "nn_seeds": ((0,), (0, 1, 2), (0, 1, 2)),
    "kmeans_k": (16, 400, 1600),
    "c_grid": ((1e-3, 1e-2), (1e-5, 1e-4, 1e-3, 1e-2), (1e-5, 1e-4, 1e-3, 1e-2)),
    "max_iter": (20, 100, 100),
    "labels_per_class": (10, None, None),
    "validation_size": (100, None, None),
    "draws": (1, 3, None),
    "probe_limit": (1000, None, None),
    "probe_test_limit": (300, None, None),
    # cpu: 6 chosen on validation faces with --balance (benchmarks/attribute_classifier.py): against 3, Smiling
    # 0.884 -> 0.908 (2 standard errors), Eyeglasses 0.910 -> 0.917, Male 0.938 -> 0.946; 12 was no better
    "classifier_epochs": (1, 6, 5),
    # cpu: chosen on validation faces (3 epochs, seed 0): Eyeglasses balanced accuracy 0.822 -> 0.910, Smiling
    # 0.898 -> 0.884, Male 0.942 -> 0.938 (docs/reproduce.md); paper: not measured at its scale
    "classifier_balance": (True, True, False),
    "pool": (300, 2000, 4000),
    "arithmetic_trials": (1, 5, 10),
    "direction_k": (3, 10, 10),
    "direction_n": (8, 64, 128),
    "yaw_epochs": (1, 10, 10),
    "turn_draws": (2, 3, 5),
    "sheet": (64, 256, 256),
    "boxed": (16, 64, 150),  # the paper boxed windows on 150 samples
    "forget_most": (None, None, None),
    "held_out": (64, 500, 1000),
    "real_limit": (640, None, None),
    "dedup_radius": (None, None, None),
    "quality_epochs": (1, 12, 12),
    "quality_limit": (2000, None, None),
    "quality_n": (200, 2000, 10000),
    "walks": (4, 32, 64),
    "blind": (8, 48, 100),
}
SETTINGS: dict[str, RecipeSettings] = {
    scale: RecipeSettings(**{name: values[i] for name, values in BY_SCALE.items()}) for i, scale in enumerate(SCALES)
}
