"""Latent-space stages (``dcgan attribute-classifier``, ``interpolate``, ``arithmetic``, ``direction``): figure 4
(faces, bedrooms) and the faces recipe's figures 7 and 8, scored by an attribute classifier and measured by a yaw
regressor, both trained on the run's own images."""

from __future__ import annotations

from pathlib import Path

from ...core.images import save_image
from ...core.sampling import sample_noise, seeded
from ...core.tensorfile import atomic_write_json
from ...experiments.arithmetic import arithmetic_experiment
from ...experiments.attributes import NoExemplarsError, run_images, save_classifier, train_classifier
from ...experiments.direction import TURN_STRENGTHS, direction_experiment, turn_experiment
from ...experiments.pose import save_regressor, train_yaw_regressor
from ...experiments.walk import walk_experiment, walk_smoothness
from ..records import Outcome
from ..stage_context import CLASSIFIER, Context


def classifier_stage(ctx: Context, folder: Path) -> Outcome:
    """The attribute classifier that picks exemplars and scores samples, on the run's own images."""
    data = run_images(ctx.checkpoint())
    s = ctx.settings
    clf = train_classifier(data, s.classifier_epochs, seed=0, progress=ctx.progress, balance=s.classifier_balance)
    save_classifier(clf, folder / CLASSIFIER)
    outcome = Outcome()
    title = "attribute classifier, held-out real images" + (", rare sides weighed up" if s.classifier_balance else "")
    outcome.table(title, "", clf.table(["Smiling", "Eyeglasses", "Male"]))
    outcome.files.append(CLASSIFIER)
    return outcome


def walk_stage(ctx: Context, folder: Path, dataset: str) -> Outcome:
    """Figure 4: a walk through 9 random points of z; and how smooth walks are: the steps between neighbouring
    frames of many walks beside those between real images (held out of training where the recipe keeps
    some) shown in a random order."""
    ckpt = ctx.trained()
    G = ckpt.generator()
    report = walk_experiment(G, sample_noise(9, G.spec.nz, ckpt.noise, seeded(0)), 8, ckpt.noise == "normal")
    save_image(report.figure(), folder / "walk.png")
    report.save_z(folder / "walk.safetensors")
    outcome = Outcome()
    outcome.figure("walk.png", "a walk through 9 random points (one row per segment)", "figure 4")
    real = ctx.real_images(dataset, G.spec, held_out=ctx.holds_out()).images
    smooth = walk_smoothness(G, real, ctx.settings.walks, noise=ckpt.noise, seed=1)
    atomic_write_json(folder / "smoothness.json", smooth.to_dict())
    outcome.table(f"steps between neighbouring frames, {ctx.settings.walks} walks of 9 points, 8 frames a segment",
                  "figure 4", smooth.table())  # fmt: skip
    largest = smooth.summary()["walks through z"]["largest_over_real_mean"]
    outcome.result("walks: largest step between neighbouring frames / mean step between real images in a random"
                   " order", "figure 4", "smooth transitions (shown)", f"{largest:.2f}")  # fmt: skip
    outcome.files.append("smoothness.json")
    return outcome


ARITHMETIC = {  # name -> (expression, concepts, expected condition): the two examples of figure 7
    "smile": (
        "smiling woman - neutral woman + neutral man",
        {"smiling woman": "Smiling&!Male", "neutral woman": "!Smiling&!Male", "neutral man": "!Smiling&Male"},
        "Smiling&Male",
    ),
    "glasses": (
        "man with glasses - man without glasses + woman without glasses",
        {
            "man with glasses": "Eyeglasses&Male",
            "man without glasses": "!Eyeglasses&Male",
            "woman without glasses": "!Eyeglasses&!Male",
        },
        "Eyeglasses&!Male",
    ),
}


def arithmetic_stage(ctx: Context, folder: Path) -> Outcome:
    """Figure 7 for smile and for glasses, each output scored by the attribute classifier."""
    s, ckpt, clf = ctx.settings, ctx.trained(), ctx.classifier()
    G, outcome = ckpt.generator(), Outcome()
    for name, (expression, concepts, expect) in ARITHMETIC.items():
        what = f"arithmetic {name}: outputs recognised as {expect}"
        if s.arithmetic_trials > 1:
            what += f" (+- standard deviation over {s.arithmetic_trials} exemplar sets)"
        try:
            report = arithmetic_experiment(G, ckpt.noise, expression, concepts, classifier=clf, expect=expect, k=3,
                                           pool=s.pool, trials=s.arithmetic_trials)  # fmt: skip
        except NoExemplarsError as exc:  # G rarely draws a concept (glasses): a result too, reported as a miss
            outcome.notes.append(f"arithmetic {name}: no exemplars: {exc.problem}")
            outcome.result(what, "figure 7", "shown, not measured", "no exemplars", "at least 0.8", False)
            continue
        save_image(report.figure, folder / f"{name}.png")
        atomic_write_json(
            folder / f"{name}.json", {"expression": expression, "concepts": concepts, "table": report.measured}
        )
        outcome.figure(f"{name}.png", f"{expression} (Y, then Y + noise; pixel arithmetic below)", "figure 7")
        outcome.table(f"{name}: how often the classifier sees {expect}", "figure 7", report.table())
        success, spread = report.success(), report.spread()
        ours = f"{success:.2f}" + ("" if spread is None else f" +- {spread:.2f}")
        outcome.result(what, "figure 7", "shown, not measured", ours, "at least 0.8", success >= 0.8)
    return outcome


def direction_stage(ctx: Context, folder: Path) -> Outcome:
    """A smile direction (figure 8 shows a turn; CelebA has no pose labels): mean z of smiling minus not."""
    s, ckpt = ctx.settings, ctx.trained()
    try:
        report = direction_experiment(ckpt.generator(), ckpt.noise, "Smiling", "!Smiling", classifier=ctx.classifier(),
                                      expect="Smiling", k=s.direction_k, pool=s.pool, num=s.direction_n)  # fmt: skip
    except NoExemplarsError as exc:
        return Outcome(notes=[f"smile direction: no exemplars: {exc.problem}"])
    save_image(report.figure, folder / "direction.png")
    atomic_write_json(folder / "direction.json", report.measured)
    outcome = Outcome()
    outcome.figure("direction.png", "samples moved along the smile direction, strengths -1 to 1.5", "figure 8")
    outcome.table("recognised as Smiling, by strength", "figure 8", report.table())
    return outcome


YAW = "yaw.safetensors"  # the yaw regressor inside the turn stage's folder


def turn_stage(ctx: Context, folder: Path) -> Outcome:
    """Figure 8's turn vector: a yaw regressor learned from the landmarks of the run's own faces picks the samples
    looking furthest right and left, and measures how far the turn vector turns new samples, beside random
    directions of its length."""
    s, ckpt = ctx.settings, ctx.trained()
    data, outcome = run_images(ctx.checkpoint()), Outcome()
    what = f"turn vector: change of the measured yaw from strength {TURN_STRENGTHS[0]:g} to {TURN_STRENGTHS[-1]:g}"
    what += ", in real faces' yaw spreads (random directions of its length)"
    if data.landmarks is None:
        outcome.notes.append("turn: the faces have no landmarks (list_landmarks_align_celeba.txt), so no yaw")
        outcome.result(what, "figure 8", "faces turn (shown)", "no landmarks")
        return outcome
    regressor = train_yaw_regressor(data, s.yaw_epochs, seed=0, progress=ctx.progress)
    save_regressor(regressor, folder / YAW)
    outcome.files.append(YAW)
    outcome.table("yaw regressor, held-out real faces", "", regressor.table())
    try:
        report = turn_experiment(ckpt.generator(), ckpt.noise, regressor, k=s.direction_k, pool=s.pool,
                                 num=s.direction_n, draws=s.turn_draws)  # fmt: skip
    except NoExemplarsError as exc:  # a young G's faces may all look ahead
        outcome.notes.append(f"turn: no exemplars: {exc.problem}")
        outcome.result(what, "figure 8", "faces turn (shown)", "no exemplars")
        return outcome
    save_image(report.figure, folder / "turn.png")
    atomic_write_json(folder / "turn.json", report.to_dict())
    outcome.files.append("turn.json")
    outcome.figure("turn.png", f"samples moved along the turn vector (the {s.direction_k} samples looking furthest right"
                   f" minus the {s.direction_k} looking furthest left), strengths {TURN_STRENGTHS[0]:g} to"
                   f" {TURN_STRENGTHS[-1]:g}", "figure 8")  # fmt: skip
    outcome.table(f"measured yaw of {s.direction_n} samples by strength, beside {s.turn_draws} random directions of"
                  " the same length (negative: turned to the image's left)", "figure 8", report.table())  # fmt: skip
    summary = report.summary()
    ours = f"{summary['change_in_real_spreads']:.2f}{'' if summary['monotone'] else ', not monotone'}"
    outcome.result(what, "figure 8", "faces turn (shown)", f"{ours} ({summary['random_change_in_real_spreads']:.2f})")
    return outcome
