"""Sample quality (``dcgan train-classifier``, ``evaluate``): the bedrooms recipe's quality against training time."""

from __future__ import annotations

from pathlib import Path

from ...core.images import save_image
from ...core.tensorfile import atomic_write_json
from ...data import SourceOptions, load_dataset
from ...experiments.quality import quality_over_training
from ...metrics import load_classifier, train_classifier
from ...metrics.classifier import FILE_NAME
from ...training.options_file import read_options
from ..records import Outcome
from ..runner import session_seconds
from ..stage_context import RUN, Context

LSUN_EPOCH = 3_033_042  # images in LSUN's bedroom_train: the paper's "one epoch" (figure 2)
FEATURES = "features"  # the feature network's folder inside the stage's


def quality_stage(ctx: Context, folder: Path, dataset: str, features_from: str) -> Outcome:
    """Quality against training time: every checkpoint the run kept, both its generators, scored against the
    images training held out (else its training images), in the features of a classifier of another labelled
    data set (``features_from``).

    A feature space must not come from the model being judged (D's own features move with it) and the
    bedrooms have no labels to train a domain network on; the FID standard's Inception network is not
    available offline. A classifier of CIFAR-10's 50,000 labelled photographs is the nearest offline stand-in:
    trained here, once, on other images than the ones judged.
    """
    s = ctx.settings
    network = folder / FEATURES
    if not (network / FILE_NAME).is_file():
        options = SourceOptions(resolution=32, limit=s.quality_limit)
        train_classifier(ctx.data[features_from][0], network, options, epochs=s.quality_epochs, progress=ctx.progress)
    real, against = ctx.training_source(dataset), "held out of training" if ctx.holds_out() else "of the training set"
    options = SourceOptions(limit=read_options(ctx.config_file("train")).get("limit"), held_out=ctx.holds_out())
    report = quality_over_training(ctx.stage_folders["train"] / RUN, real, f"domain:{network}", options,
                                   n=min(_count(real, options), s.quality_n), device=ctx.device,
                                   progress=ctx.progress)  # fmt: skip
    hours_per_step = session_seconds(ctx.stage_folders["train"]) / 3600 / max(row.step for row in report.rows)
    save_image(report.figure(), folder / "quality.png")
    atomic_write_json(folder / "quality.json", report.to_dict())
    accuracy = load_classifier(network).meta["held_out_accuracy"]
    outcome = Outcome(
        notes=[
            f"each checkpoint's samples against {report.n:,} images {against}, in the 128-d features"
            f" of a CIFAR-10 classifier trained here ({s.quality_epochs} epochs: held-out accuracy {accuracy:.3f});"
            " training hours are the training stage's, spread evenly over its steps; scores in another feature space"
            " or against another number of images are not comparable"
        ]
    )
    outcome.figure("quality.png", "quality against images seen: FID (left), precision and recall (right)")
    outcome.table(f"quality against training time, images {against}", "", report.table(hours_per_step, LSUN_EPOCH))
    outcome.files += ["quality.json", f"{FEATURES}/{FILE_NAME}"]
    return outcome


def _count(path: Path, options: SourceOptions) -> int:
    """How many images ``options`` select of ``path``: every held-out image is scored."""
    return len(load_dataset(path, options))
