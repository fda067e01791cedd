"""Inside the networks (``dcgan forget``, ``visualize-d``, ``nearest``): figures 5 and 6 and the memorisation
check of section 4.1, on the trained model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ...core.images import numbered_grid, save_image
from ...core.sampling import render, sample_noise, seeded
from ...core.tensorfile import atomic_write_json
from ...experiments.attributes import Condition
from ...experiments.features import load_images_for
from ...experiments.forgetting import (
    BLIND_VERSIONS,
    blind_sheet,
    change_inside_boxes,
    forgetting_experiment,
    load_boxes,
    unblind,
)
from ...experiments.guided_backprop import guided_backprop_experiment
from ...experiments.latent import save_sheet
from ...experiments.memorisation import memorisation_check
from ...experiments.tables import Table
from ..records import Outcome
from ..stage_context import Context

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
    s, ckpt, clf = ctx.settings, ctx.trained(), ctx.classifier()
    G = ckpt.generator()
    z = sample_noise(s.sheet, G.spec.nz, ckpt.noise, seeded(0))
    images = render(G, z)
    save_sheet(images, z, folder / "sheet.png", checkpoint=str(ckpt.path), seed=0)
    smiling = Condition.parse("Smiling", clf.names).literal_scores(clf.predict(images), clf.names)[:, 0]
    cells = smiling.argsort(descending=True)[: s.boxed].tolist()
    box = _mouth_box(G.spec.resolution)
    boxes = {cell: [box] for cell in sorted(cells)}
    atomic_write_json(folder / "boxes.json", {"object": "smile", "boxes": {str(c): b for c, b in boxes.items()}})
    result = forgetting_experiment(G, z, boxes, seed=1, most=s.forget_most, classifier=clf, detect="Smiling",
                                   held_out=s.held_out, noise=ckpt.noise)  # fmt: skip
    save_image(result.figure(8), folder / "forget.png")
    atomic_write_json(folder / "forget.json", result.to_dict())
    rates = result.detection["Smiling"]
    drop, random_drop = rates["before"] - rates["after"], rates["before"] - rates["after_random_maps"]
    random_drops = [rates["before"] - r for r in rates["after_random_maps_each"]]
    outcome = Outcome()
    outcome.figure(
        "forget.png", f"smiling samples, then the same z with {len(result.dropped)} maps dropped", "figure 6"
    )
    outcome.table(
        f"recognised as Smiling on {rates['samples']} fresh samples", "figure 6", result.table("Smiling", "smile")
    )
    ratio = f"{drop / random_drop:.2f}x" if random_drop > 0 else "random maps drop none"
    outcome.result(f"forgetting: drop in smiles, smile maps / random maps (the mean of {len(random_drops)} random"
                   " draws; their range)", "figure 6", "windows forgotten (shown)",
                   f"{ratio} ({drop:.3f} / {random_drop:.3f}; {min(random_drops):.3f} to {max(random_drops):.3f})",
                   "at least 2x", drop > 0 and drop >= 2 * max(random_drop, 0))  # fmt: skip
    return outcome


def forget_drawn_stage(ctx: Context, folder: Path, what: str) -> Outcome:
    """Figure 6 as the paper made it: boxes a person drew around an object (windows) on cells of the model's own
    sheet, shipped with the recipe (``configs/RECIPE/SCALE/WHAT.json``). The maps fitted on them are dropped;
    measured by where the picture changes (boxed cells the maps were not fitted on) and by a count made by eye
    on fresh samples shown three ways in a shuffled order (``WHAT-counts.json``, where one was made)."""
    s, ckpt = ctx.settings, ctx.trained()
    G = ckpt.generator()
    z = sample_noise(s.sheet, G.spec.nz, ckpt.noise, seeded(0))
    save_sheet(render(G, z), z, folder / "sheet.png", checkpoint=str(ckpt.path), seed=0)
    boxes = load_boxes(ctx.config_file(what), s.sheet, G.spec.resolution)
    shutil.copyfile(ctx.config_file(what), folder / f"{what}.json")
    result = forgetting_experiment(G, z, boxes, seed=1, most=s.forget_most)
    save_image(result.figure(16), folder / "forget.png")
    change = change_inside_boxes(G, z, boxes, seed=1, most=s.forget_most)
    images, key = blind_sheet(G, sample_noise(s.blind, G.spec.nz, ckpt.noise, seeded(2)), result.layer,
                              result.dropped, seed=2)  # fmt: skip
    save_image(numbered_grid(images, nrow=12), folder / "count-sheet.png")
    atomic_write_json(folder / "forget.json", {**result.to_dict(), "change": change, "count_key": key})
    outcome = Outcome()
    outcome.figure("forget.png", f"boxed samples, then the same z with the {len(result.dropped)} {what} maps dropped",
                   "figure 6")  # fmt: skip
    # maps: the mean over the two halves (as many of each kind), so a half shows as .5
    rows = [[kind, f"{v['maps']:.1f}", f"{v['inside']:.4f}", f"{v['outside']:.4f}", f"{v['ratio']:.2f}"]
            for kind, v in change.items()]  # fmt: skip
    columns = ["maps dropped", "how many", "change inside the boxes", "change outside", "inside / outside"]
    outcome.table(f"where the picture changes, on {len(boxes)} boxed samples", "figure 6", Table(columns, rows))
    ours, control = change["object maps"], change["random maps"]
    outcome.result(f"forgetting {what}: pixel change inside the boxes, {what} maps / random maps (then each one's"
                   " change inside / outside the boxes)", "figure 6", f"{what} removed (shown)",
                   f"{ours['inside'] / control['inside']:.2f}x ({what} maps {ours['ratio']:.2f}, random maps"
                   f" {control['ratio']:.2f})")  # fmt: skip
    counts = ctx.config_file(f"{what}-counts")
    if not counts.is_file():
        outcome.notes.append(
            f"no count of {what} by eye was made for this scale: count-sheet.png is the sheet to count"
        )
        return outcome
    rates = unblind(key, json.loads(counts.read_text())["seen"])
    shutil.copyfile(counts, folder / counts.name)
    outcome.figure("count-sheet.png", f"the {len(images)} images counted, shuffled (the key is in forget.json)")
    outcome.table(f"{what} seen by eye, blind, on {s.blind} fresh samples", "figure 6",
                  Table(list(BLIND_VERSIONS), [[f"{rates[v]:.2f}" for v in BLIND_VERSIONS]]))  # fmt: skip
    outcome.result(f"forgetting {what}: share of fresh samples with {what} seen, as drawn / {what} maps dropped /"
                   " random maps dropped", "figure 6", f"{what} removed (shown)",
                   " / ".join(f"{rates[v]:.2f}" for v in BLIND_VERSIONS))  # fmt: skip
    return outcome


def guided_backprop_stage(ctx: Context, folder: Path, dataset: str) -> Outcome:
    """Figure 5: guided backpropagation of the trained D's most active maps, beside a random D's."""
    trained = ctx.trained().network("D")
    images = load_images_for(trained.spec, ctx.training_source(dataset), ctx.settings.real_limit).images
    save_image(guided_backprop_experiment(trained, images).figure(), folder / "guided-backprop.png")
    outcome = Outcome()
    outcome.figure("guided-backprop.png", "what excites D's last-layer maps: trained D (top) and random D", "figure 5")
    return outcome


def memorisation_stage(ctx: Context, folder: Path, dataset: str) -> Outcome:
    """Section 4.1: nearest training images of samples, against held-out real images: those the training stage's
    ``--limit`` left out where it has one (G never saw them), else random training images left out of the
    reference set."""
    s, ckpt = ctx.settings, ctx.trained()
    G, D = ckpt.generator(), ckpt.network("D")
    if ctx.holds_out():
        training = ctx.real_images(dataset, G.spec).images
        held_out = ctx.real_images(dataset, G.spec, held_out=True).images[: s.held_out]
        samples = len(held_out)
        note = (f"the held-out images are {samples:,} of the images the training stage's --limit left out: G never"
                " saw them, so samples much closer to the training images than these would be copies")  # fmt: skip
    else:
        training = load_images_for(G.spec, ctx.training_source(dataset), s.real_limit).images
        held_out = samples = s.held_out
        note = (f"the held-out images are {s.held_out} random training images left out of the reference set (as"
                " dcgan nearest does without --held-out-data); G saw them in training, so a G that copied exactly"
                " those would go unnoticed")  # fmt: skip
    result = memorisation_check(G, D, training, held_out, samples, 16, 3, 0, ckpt.noise)
    save_image(result.montage(), folder / "nearest.png")
    result.plot_distances(folder / "nearest-distances.png")
    atomic_write_json(folder / "nearest.json", result.to_dict())
    outcome = Outcome(notes=[note])
    outcome.figure("nearest.png", "samples and their nearest training images (pixels, D features)", "section 4.1")
    outcome.figure("nearest-distances.png", "distances to the training set: samples against held-out real images")
    outcome.table("memorisation check", "section 4.1", result.table())
    ratios = ", ".join(f"{space} {v['median_ratio']:.2f}" for space, v in result.summary().items())
    outcome.result("memorisation: median nearest-training distance, samples / held-out images", "section 4.1",
                   "no memorisation (far below 1 would be copying)", ratios)  # fmt: skip
    return outcome
