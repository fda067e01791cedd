"""What each stage of a recipe does: train from a config file, then run one of the paper's experiments.

Every function here takes the recipe's :class:`Context` and the stage's folder, calls the
experiment APIs (``dcgan.experiments``, ``dcgan.metrics``) exactly as the matching ``dcgan``
command does, writes its figures and tables into the folder and returns an
:class:`~dcgan.reproduce.stages.Outcome` that sets the results beside the paper's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from ..core.checkpoints import load_checkpoint
from ..core.images import save_grid, save_image
from ..core.rundir import RunDir
from ..core.sampling import render, sample_noise, seeded
from ..core.tensorfile import atomic_write_json
from ..data import load_dataset
from ..data.loading import default_test_split
from ..data.summary import summarize
from ..errors import DCGANError
from ..experiments import latent
from ..experiments.arithmetic import measure_arithmetic
from ..experiments.attributes import Condition, exemplar_sets, load_classifier, save_classifier, train_classifier
from ..experiments.direction import measure_direction
from ..experiments.features import load_images_for, random_discriminator
from ..experiments.forgetting import detection_rates, forget
from ..experiments.guided_backprop import feature_figure, visualise_features
from ..experiments.linear_probe import linear_probe, protocol_for
from ..experiments.memorisation import distance_plot, memorisation_check, split_held_out
from ..metrics.nn_protocol import nn_protocol
from ..training import Callback, TrainConfig, default_callbacks, load_training_data, reopen, start
from ..training.options_file import config_from, read_options, write_options
from .stages import Outcome

CONFIGS = "configs"  # the package folder of the recipes' training config files: configs/RECIPE/SCALE/STAGE.json
RUN = "run"  # the training run inside a training stage's folder
CHECKPOINT = f"{RUN}/checkpoints/last.safetensors"


@dataclass
class Context:
    """One recipe at one scale: where it reads and writes, the scale's settings, how to train."""

    recipe: str
    scale: str
    results: Path
    data: dict[str, tuple[Path, Path | None]]  # data set name -> (train, test)
    settings: dict  # the scale's experiment settings
    device: str = "auto"
    progress: bool = True
    callbacks: list[Callback] = field(default_factory=list)  # extra training callbacks (watching a run)
    stage_folders: dict[str, Path] = field(default_factory=dict)  # stage name -> its folder
    data_root: Path = Path(".")  # where ``data`` was found

    def config_file(self, stage: str) -> Path:
        """The shipped training config of ``stage`` (copy it, edit it, pass it to ``dcgan train --config``)."""
        return Path(str(resources.files("dcgan.reproduce") / CONFIGS / self.recipe / self.scale / f"{stage}.json"))

    def checkpoint(self, stage: str = "train") -> Path:
        return self.stage_folders[stage] / CHECKPOINT


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _result(what: str, paper_ref: str, paper: str, ours: str, target: str = "", met: bool | None = None) -> dict:
    return {"what": what, "paper_ref": paper_ref, "paper": paper, "ours": ours, "target": target, "met": met}


def _write_json(path: Path, values) -> None:
    atomic_write_json(path, values)


# --- data and training ---------------------------------------------------------------------------------------------


def prepare_data(ctx: Context, folder: Path, stages: list[tuple[str, str]]) -> Outcome:
    """Decode each training stage's data once into the cache (training then maps it) and describe it."""
    outcome = Outcome()
    rows = []
    for stage, dataset in stages:
        config = config_from(None, **_train_options(ctx, stage, dataset, folder))
        summary = summarize(load_training_data(config.updated(progress=ctx.progress)))
        # where the data set lies under the data root, not the cache it was decoded into
        source = ctx.data[dataset][0].relative_to(ctx.data_root).as_posix()
        rows.append([stage, source, summary["images"], f"{summary['resolution']} px", summary["channels"]])
    _write_json(folder / "data.json", rows)
    outcome.tables.append(
        {"title": "data", "paper": "", "columns": ["stage", "source", "images", "size", "channels"], "rows": rows}
    )
    outcome.files.append("data.json")
    return outcome


def _train_options(ctx: Context, stage: str, dataset: str, folder: Path) -> dict:
    return read_options(ctx.config_file(stage)) | {
        "data": str(ctx.data[dataset][0]),
        "out": str(folder / RUN),
        "device": ctx.device,
        "progress": ctx.progress,
    }


def train_stage(ctx: Context, folder: Path, stage: str, dataset: str, epochs_shown: dict[int, str]) -> Outcome:
    """Train from the stage's config file, continuing the run in the folder when an earlier try left one.

    The file actually trained from (the shipped one, with the data and the folder filled in) is
    kept as ``options.json``: ``dcgan train --config options.json`` repeats the stage.
    """
    options_file = write_options(folder / "options.json", _train_options(ctx, stage, dataset, folder))
    run = RunDir(folder / RUN)
    config = config_from(options_file)
    callbacks = [*default_callbacks(config), *ctx.callbacks]
    if not run.last_checkpoint.exists():
        trainer = start(config, callbacks=callbacks)
    elif not _finished(load_checkpoint(run.last_checkpoint).meta):  # else: killed after its last checkpoint
        trainer = reopen(run.root, callbacks=callbacks, progress=ctx.progress, device=ctx.device)
    else:
        trainer = None
    if trainer is not None:
        trainer.fit()
        _write_json(folder / "precision.json", {"precision": trainer.precision_reason, "device": str(trainer.device)})
    meta = load_checkpoint(run.last_checkpoint).meta
    batch = meta["config"]["batch_size"] * meta.get("world_size", 1)
    precision = folder / "precision.json"  # of the session that trained last (none: a run finished before)
    last = json.loads(precision.read_text()) if precision.is_file() else {}
    outcome = Outcome(compute={"steps": meta["step"], "epochs": meta["epoch"], "images seen": meta["step"] * batch,
                               "batch": batch, **last})  # fmt: skip
    for epoch, paper in epochs_shown.items():
        if epoch < meta["epoch"]:
            outcome.figure(run.epoch_samples(epoch).relative_to(folder), f"samples after {_epochs(epoch)}", paper)
    outcome.figure(
        run.epoch_samples(meta["epoch"]).relative_to(folder),
        f"samples after {_epochs(meta['epoch'])} ({meta['step']:,} steps)",
        epochs_shown.get(meta["epoch"], ""),
    )
    outcome.files.append("options.json")
    outcome.files.append(CHECKPOINT)
    return outcome


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("s" if n != 1 else "")


def _finished(meta: dict) -> bool:
    """Whether a checkpoint is the end of its run (its steps all done)."""
    config, ranks = TrainConfig.from_dict(meta["config"]), meta.get("world_size", 1)
    return meta["step"] >= config.total_steps(meta["num_images"] // (config.batch_size * ranks), ranks)


# --- MNIST: the appendix's nearest-neighbour table -----------------------------------------------------------------


def nn_protocol_stage(ctx: Context, folder: Path) -> Outcome:
    """Table 3: 1-NN test error fitted on N conditional samples beside N real training images."""
    s = ctx.settings
    ckpt = load_checkpoint(ctx.checkpoint("train-conditional"))
    spec, (train_path, _) = ckpt.spec, ctx.data["mnist"]
    read = {"resolution": spec.resolution, "channels": spec.channels}
    train = load_dataset(train_path, limit=s.get("nn_train_limit"), **read)
    test = load_dataset(default_test_split(train_path), limit=s.get("nn_test_limit"), **read)
    report = nn_protocol(ckpt.generator(), ckpt.class_names, train, test, s["nn_sizes"], ckpt.noise, seed=0)
    _write_json(folder / "nn-protocol.json", report.to_dict())
    outcome = Outcome()
    sizes = sorted({row.n for row in report.rows})
    errors = {(row.source, row.n): row.test_error for row in report.rows}
    sources = list(dict.fromkeys(row.source for row in report.rows))
    outcome.tables.append(
        {
            "title": f"1-NN test error on {report.test_size:,} real test digits",
            "paper": "table 3 (appendix)",
            "columns": ["1-NN fitted on", *(f"N = {n:,}" for n in sizes)],
            "rows": [[src, *(_percent(errors[src, n]) for n in sizes)] for src in sources],
        }
    )
    n = max(sizes)
    generated, real = errors[sources[0], n], errors[sources[1], n]
    outcome.results += [
        _result(f"conditional DCGAN samples, 1-NN test error at N = {n:,}", "table 3", "2.98% (N = 50K)",
                _percent(generated), "at most 5%", generated <= 0.05),
        _result(f"real training digits, 1-NN test error at N = {n:,}", "table 3", "3.1% (N = 50K)", _percent(real)),
    ]  # fmt: skip
    outcome.files.append("nn-protocol.json")
    return outcome


# --- CIFAR-10 and SVHN: D as a feature extractor (section 5) ---------------------------------------------------------


PAPER_PROBE = {
    "cifar10": ("table 1", {"ours": ("82.8%", "at least 75%", 0.75), "kmeans": ("80.6%", "", None)}),
    "svhn-1000": ("table 2", {"ours": ("22.48% error", "", None)}),
}


def probe_stage(ctx: Context, folder: Path, protocol_name: str, dataset: str) -> Outcome:
    """The section-5 table: L2-SVMs on D's features beside a random D, raw pixels and K-means."""
    s = ctx.settings
    protocol = protocol_for(protocol_name, s.get("labels_per_class"), s.get("validation_size"), s.get("draws"))
    train_path, test_path = ctx.data[dataset]
    report = linear_probe(
        ctx.checkpoint(),
        train_path,
        protocol,
        test_path,
        kmeans_k=s["kmeans_k"],
        c_grid=s["c_grid"],
        max_iter=s["max_iter"],
        limit=s.get("probe_limit"),
        test_limit=s.get("probe_test_limit"),
        device=ctx.device,
        progress=ctx.progress,
    )
    _write_json(folder / "linear-probe.json", report.to_dict())
    as_error = not protocol.full
    paper_ref, paper = PAPER_PROBE[protocol_name]
    keys = ["ours", "random", "pixels", "kmeans"]  # linear_probe's row order, by baseline
    columns = ["model", "features", "all labels" if protocol.full else "", f"{protocol.labels_per_class}/class"]
    rows = []
    outcome = Outcome(
        compute={"extract + SVM seconds": round(sum(r.extract_seconds + r.svm_seconds for r in report.rows))}
    )
    for key, row in zip(keys, report.rows, strict=False):
        full = "" if row.accuracy is None else _percent(row.accuracy)
        limited = "" if row.limited_accuracy_mean is None else _limited(row, as_error)
        rows.append([row.model, f"{row.feature_dim:,}", full, limited])
        if key in paper:
            value = row.accuracy if protocol.full else 1 - row.limited_accuracy_mean
            paper_value, target, floor = paper[key]
            met = None if floor is None else value >= floor
            label = "accuracy, all labels" if protocol.full else f"test error, {protocol.labels_per_class}/class"
            outcome.results.append(
                _result(f"{row.model}: {label}", paper_ref, paper_value, _percent(value), target, met)
            )
    outcome.tables.append({"title": f"{protocol.name} protocol", "paper": paper_ref, "columns": columns, "rows": rows})
    outcome.files.append("linear-probe.json")
    return outcome


def _limited(row, as_error: bool) -> str:
    mean = 1 - row.limited_accuracy_mean if as_error else row.limited_accuracy_mean
    return f"{_percent(mean)} +- {100 * row.limited_accuracy_std:.2f}" + (" error" if as_error else "")


# --- faces: latent space, inside the networks, memorisation (sections 4.1, 6) --------------------------------------


def classifier_stage(ctx: Context, folder: Path) -> Outcome:
    """The attribute classifier that picks exemplars and scores samples, on the run's own images."""
    config = TrainConfig.from_dict(load_checkpoint(ctx.checkpoint()).meta["config"])
    data = load_training_data(config.updated(progress=False))
    clf = train_classifier(data, ctx.settings["classifier_epochs"], seed=0, progress=ctx.progress)
    save_classifier(clf, folder / "classifier.safetensors")
    shown = [name for name in ("Smiling", "Eyeglasses", "Male") if name in clf.report["attributes"]]
    rows = [[name, *(f"{v:.3f}" for v in clf.report["attributes"][name].values())] for name in shown]
    columns = ["attribute", *next(iter(clf.report["attributes"].values()))]
    outcome = Outcome(
        tables=[{"title": "attribute classifier, held-out real images", "paper": "", "columns": columns, "rows": rows}]
    )
    outcome.files.append("classifier.safetensors")
    return outcome


def _generator(ctx: Context):
    ckpt = load_checkpoint(ctx.checkpoint())
    return ckpt.generator(), ckpt.noise


def walk_stage(ctx: Context, folder: Path) -> Outcome:
    """Figure 4: a walk through 9 random points of z."""
    G, noise = _generator(ctx)
    points = sample_noise(9, G.spec.nz, noise, seeded(0))
    rows = latent.walk(points, 8, spherical=noise == "normal")
    save_grid(render(G, rows.flatten(0, 1)), folder / "walk.png", nrow=8)
    latent.save_z(folder / "walk.safetensors", rows.flatten(0, 1), {"points": points})
    outcome = Outcome()
    outcome.figure("walk.png", "a walk through 9 random points (one row per segment)", "figure 4")
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
    s = ctx.settings
    G, noise = _generator(ctx)
    clf = load_classifier(ctx.stage_folders["classifier"] / "classifier.safetensors")
    outcome = Outcome()
    for name, (expression, concepts, expect) in ARITHMETIC.items():
        try:
            groups = exemplar_sets(
                G, noise, concepts, classifier=clf, k=3, pool=s["pool"], seed=0, groups=s["arithmetic_trials"]
            )
        except DCGANError as exc:  # G rarely draws a concept (glasses): a result too, reported as a miss
            outcome.notes.append(f"arithmetic {name}: no exemplars: {exc.problem}")
            outcome.results.append(
                _result(f"arithmetic {name}: outputs recognised as {expect}", "figure 7", "shown, not measured",
                        "no exemplars", "at least 0.8", False)
            )  # fmt: skip
            continue
        first = latent.vector_arithmetic(expression, {c: z[0] for c, z in groups.items()}, 8, 0.25, 0)
        save_image(latent.arithmetic_figure(G, first), folder / f"{name}.png")
        random_z = sample_noise(s["pool"], G.spec.nz, noise, seeded(0))[: s["arithmetic_trials"] * len(first.outputs)]
        _, table = measure_arithmetic(G, clf, expression, groups, expect, random_z, 8, 0.25, 0)
        _write_json(folder / f"{name}.json", {"expression": expression, "concepts": concepts, "table": table})
        outcome.figure(f"{name}.png", f"{expression} (Y, then Y + noise; pixel arithmetic below)", "figure 7")
        columns = list(next(iter(table.values())))
        outcome.tables.append(
            {
                "title": f"{name}: how often the classifier sees {expect}",
                "paper": "figure 7",
                "columns": ["outputs", *columns],
                "rows": [[row, *(_number(v) for v in values.values())] for row, values in table.items()],
            }
        )
        success = table["latent"][expect]
        outcome.results.append(
            _result(f"arithmetic {name}: outputs recognised as {expect}", "figure 7", "shown, not measured",
                    f"{success:.2f}", "at least 0.8", success >= 0.8)
        )  # fmt: skip
    return outcome


def _number(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def direction_stage(ctx: Context, folder: Path) -> Outcome:
    """A smile direction (figure 8 shows a turn; CelebA has no pose labels): mean z of smiling minus not."""
    s = ctx.settings
    G, noise = _generator(ctx)
    clf = load_classifier(ctx.stage_folders["classifier"] / "classifier.safetensors")
    try:
        ends = exemplar_sets(
            G,
            noise,
            {"positive": "Smiling", "negative": "!Smiling"},
            classifier=clf,
            k=s["direction_k"],
            pool=s["pool"],
        )
    except DCGANError as exc:
        return Outcome(notes=[f"smile direction: no exemplars: {exc.problem}"])
    vector = latent.direction(ends["positive"][0], ends["negative"][0])
    strengths = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    moved = latent.along(sample_noise(s["direction_n"], G.spec.nz, noise, seeded(1)), vector, strengths)
    save_grid(render(G, moved[:8].flatten(0, 1)), folder / "direction.png", nrow=len(strengths))
    table = measure_direction(G, clf, moved, strengths, "Smiling")
    _write_json(folder / "direction.json", table)
    outcome = Outcome()
    outcome.figure("direction.png", "samples moved along the smile direction, strengths -1 to 1.5", "figure 8")
    outcome.tables.append(
        {
            "title": "recognised as Smiling, by strength",
            "paper": "figure 8",
            "columns": ["strength", *next(iter(table.values()))],
            "rows": [[k, *(_number(v) for v in values.values())] for k, values in table.items()],
        }
    )
    return outcome


MOUTH = (0.27, 0.68, 0.73, 0.94)  # x0, y0, x1, y1 as fractions of the image side


def _mouth_box(resolution: int) -> list[int]:
    """Where the mouth sits in an aligned CelebA face cropped as the loader crops it, in pixels.

    Near CelebA's mean mouth landmarks (corners at y 152, x 72-106 in the aligned 178x218 image)
    in the loader's centred 108-pixel square, widened since samples vary; drawn on real faces to check.
    """
    return [round(f * resolution) for f in MOUTH]


def forget_stage(ctx: Context, folder: Path) -> Outcome:
    """Figure 6 on faces: drop the maps of the smile, boxed around the mouth of the sheet's smiling cells,
    and count smiles on fresh samples before and after, beside as many random maps dropped."""
    s = ctx.settings
    ckpt = load_checkpoint(ctx.checkpoint())
    G = ckpt.generator()
    clf = load_classifier(ctx.stage_folders["classifier"] / "classifier.safetensors")
    z = sample_noise(s["sheet"], G.spec.nz, ckpt.noise, seeded(0))
    images = render(G, z)
    latent.save_sheet(images, z, folder / "sheet.png", checkpoint=str(ckpt.path), seed=0)
    smiling = Condition.parse("Smiling", clf.names).literal_scores(clf.predict(images), clf.names)[:, 0]
    cells = smiling.argsort(descending=True)[: s["boxed"]].tolist()
    box = _mouth_box(G.spec.resolution)
    boxes = {cell: [box] for cell in sorted(cells)}
    _write_json(folder / "boxes.json", {"object": "smile", "boxes": {str(c): b for c, b in boxes.items()}})
    result = forget(G, z, boxes, seed=1, most=s.get("forget_most"))
    save_image(result.figure(8), folder / "forget.png")
    fresh = sample_noise(s["held_out"], G.spec.nz, ckpt.noise, seeded(1))
    rates = detection_rates(G, clf, "Smiling", fresh, result.layer, result.dropped, seed=1)
    _write_json(folder / "forget.json", {**result.summary(), "detection": {"Smiling": rates}})
    drop, random_drop = rates["before"] - rates["after"], rates["before"] - rates["after_random_maps"]
    outcome = Outcome()
    outcome.figure(
        "forget.png", f"smiling samples, then the same z with {len(result.dropped)} maps dropped", "figure 6"
    )
    outcome.tables.append(
        {
            "title": f"recognised as Smiling on {rates['samples']} fresh samples",
            "paper": "figure 6",
            "columns": ["as drawn", f"{rates['maps_dropped']} smile maps dropped", "as many random maps dropped"],
            "rows": [[f"{rates['before']:.3f}", f"{rates['after']:.3f}", f"{rates['after_random_maps']:.3f}"]],
        }
    )
    outcome.results.append(
        _result("forgetting: drop in smiles, smile maps / random maps", "figure 6", "windows forgotten (shown)",
                f"{drop:.3f} / {random_drop:.3f}", "at least 2x", drop > 0 and drop >= 2 * max(random_drop, 0))
    )  # fmt: skip
    return outcome


def guided_backprop_stage(ctx: Context, folder: Path, dataset: str) -> Outcome:
    """Figure 5: guided backpropagation of the trained D's most active maps, beside a random D's."""
    trained = load_checkpoint(ctx.checkpoint()).network("D")
    images = load_images_for(trained.spec, ctx.data[dataset][0], ctx.settings["real_limit"]).images
    panels = {
        name: visualise_features(D, images)
        for name, D in (("trained", trained), ("random", random_discriminator(trained.spec, 0)))
    }
    save_image(feature_figure(panels), folder / "guided-backprop.png")
    outcome = Outcome()
    outcome.figure("guided-backprop.png", "what excites D's last-layer maps: trained D (top) and random D", "figure 5")
    return outcome


def memorisation_stage(ctx: Context, folder: Path, dataset: str) -> Outcome:
    """Section 4.1: nearest training images of samples, against held-out real images."""
    s = ctx.settings
    ckpt = load_checkpoint(ctx.checkpoint())
    G, D = ckpt.generator(), ckpt.network("D")
    training = load_images_for(G.spec, ctx.data[dataset][0], s["real_limit"]).images
    held, rest = split_held_out(len(training), s["held_out"], 0)
    result = memorisation_check(G, D, training[rest], training[held], s["held_out"], 16, 3, 0, ckpt.noise)
    save_image(result.montage(), folder / "nearest.png")
    distance_plot(result.distances, folder / "nearest-distances.png")
    summary = result.summary()
    _write_json(folder / "nearest.json", summary)
    outcome = Outcome(
        notes=[
            f"the held-out images are {s['held_out']} random training images left out of the reference set (as dcgan"
            " nearest does without --held-out-data); G saw them in training, so a G that copied exactly those would"
            " go unnoticed"
        ]
    )
    outcome.figure("nearest.png", "samples and their nearest training images (pixels, D features)", "section 4.1")
    outcome.figure("nearest-distances.png", "distances to the training set: samples against held-out real images")
    columns = ["space", "median generated", "median held-out", "ratio", "closer than held-out 1%"]
    rows = [
        [space, f"{v['median_generated']:.3f}", f"{v['median_held_out']:.3f}", f"{v['median_ratio']:.2f}",
         f"{v['closer_than_p1']:.3f}"]
        for space, v in summary.items()
    ]  # fmt: skip
    outcome.tables.append({"title": "memorisation check", "paper": "section 4.1", "columns": columns, "rows": rows})
    ratios = ", ".join(f"{space} {v['median_ratio']:.2f}" for space, v in summary.items())
    outcome.results.append(
        _result("memorisation: median nearest-training distance, samples / held-out images", "section 4.1",
                "no memorisation (far below 1 would be copying)", ratios)
    )  # fmt: skip
    return outcome
