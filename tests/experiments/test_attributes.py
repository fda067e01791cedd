"""The attribute classifier: learns a known attribute from synthetic images, picks and measures by it."""

import numpy as np
import pytest
import torch
from torch import nn

from dcgan import DCGANError, ImageData
from dcgan.core.models import ModelSpec
from dcgan.experiments.arithmetic import arithmetic_experiment, measure_arithmetic
from dcgan.experiments.attributes import (
    Condition,
    NoExemplarsError,
    attribute_table,
    load_classifier,
    mirror_some,
    pick_exemplars,
    save_classifier,
    split_rows,
    train_classifier,
)
from dcgan.experiments.direction import direction_experiment, measure_direction
from dcgan.experiments.latent import load_z


def bright_and_striped(n: int = 400, resolution: int = 16, seed: int = 0) -> ImageData:
    """Noisy grey images, each dark or bright, with a stripe on the left or the right: two known attributes."""
    rng = np.random.default_rng(seed)
    bright = rng.random(n) < 0.5
    left = rng.random(n) < 0.5
    pixels = rng.normal(np.where(bright, 170, 70)[:, None, None], 25, (n, resolution, resolution))
    stripe = slice(1, 4)
    pixels[left, :, stripe] = 255
    pixels[~left, :, -4:-1] = 255
    attrs = np.stack([np.where(bright, 1, -1), np.where(left, 1, -1)], 1)
    return ImageData(
        torch.from_numpy(pixels.clip(0, 255).astype(np.uint8)[:, None]),
        attributes=torch.from_numpy(attrs.astype(np.int8)),
        attribute_names=["Bright", "Stripe_left"],
        source="synthetic",
    )


class BrightnessG(nn.Module):
    """A stand-in generator drawing the synthetic images: brightness grows with z[0], the stripe side is z[1]'s sign."""

    spec = ModelSpec(resolution=16, channels=1, nz=4)

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, z):
        level = -0.06 + 0.4 * torch.tanh(self.scale * z[:, 0])  # grey 70 (dark) .. 170 (bright) at |z0| ~ 1
        img = level.reshape(-1, 1, 1, 1).expand(-1, 1, 16, 16).clone()
        img[z[:, 1] > 0, :, :, 1:4] = 1.0
        img[z[:, 1] <= 0, :, :, -4:-1] = 1.0
        return img


@pytest.fixture(scope="module")
def classifier():
    return train_classifier(bright_and_striped(), epochs=4, width=8, holdout=0.25, seed=0)


def test_classifier_learns_the_known_attributes(classifier):
    report = classifier.report["attributes"]
    assert report["Bright"]["accuracy"] > 0.95 and report["Stripe_left"]["balanced_accuracy"] > 0.95
    assert classifier.report["test_images"] == 100
    fresh = bright_and_striped(200, seed=1)
    probs = classifier.predict(fresh.images.float() / 127.5 - 1)
    assert ((probs > 0.5) == (fresh.attributes > 0)).float().mean() > 0.95


def test_classifier_is_deterministic_and_round_trips(classifier, tmp_path):
    again = train_classifier(bright_and_striped(), epochs=4, width=8, holdout=0.25, seed=0)
    images = bright_and_striped(20, seed=2).images.float() / 127.5 - 1
    assert torch.equal(again.predict(images), classifier.predict(images))
    loaded = load_classifier(save_classifier(classifier, tmp_path / "clf.safetensors"))
    assert loaded.names == ["Bright", "Stripe_left"] and loaded.report == classifier.report
    assert torch.equal(loaded.predict(images), classifier.predict(images))
    with pytest.raises(DCGANError, match="shape"):
        loaded.predict(torch.zeros(2, 3, 16, 16))
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    with pytest.raises(DCGANError, match="not an attribute classifier"):
        load_classifier(tmp_path / "bad.safetensors")


def test_validation_rows_come_from_the_training_rows_and_the_held_out_ones_stay_unseen():
    train, held_out = split_rows(100, 0.1, 16, torch.Generator().manual_seed(0))
    assert len(train) == 90 and len(held_out) == 10 and not set(train.tolist()) & set(held_out.tolist())
    fit_on, validation = split_rows(100, 0.1, 16, torch.Generator().manual_seed(0), validate=True)
    assert torch.equal(torch.cat([validation, fit_on]), train)  # the same draw: the held-out rows are never used
    assert len(split_rows(20, 0.2, 16, torch.Generator().manual_seed(0))[0]) == 16  # a batch to train on
    with pytest.raises(DCGANError, match="20 images are too few"):
        split_rows(20, 0.2, 16, torch.Generator().manual_seed(0), validate=True)


def test_mirroring_flips_a_seeded_half_left_to_right():
    images = torch.arange(2 * 4, dtype=torch.float32).reshape(1, 1, 2, 4).expand(400, 1, 2, 4)
    flipped, which = mirror_some(images, torch.Generator().manual_seed(0))
    assert 160 < int(which.sum()) < 240
    assert torch.equal(flipped[which], images[which].flip(-1)) and torch.equal(flipped[~which], images[~which])


def test_balancing_makes_a_rare_attribute_count():
    """A stripe on the left of one image in six: unweighted, a short training learns to say 'no' to every image
    (balanced accuracy 0.5); weighted, it finds the stripe."""
    data = bright_and_striped(480)
    rare = data.attributes[:, 1] > 0
    rare[torch.nonzero(rare)[::2].flatten()] = False
    rare[torch.nonzero(rare)[::3].flatten()] = False
    data.attributes[:, 1] = torch.where(rare, 1, -1).to(torch.int8)
    plain = train_classifier(data, epochs=2, batch_size=16, width=8, holdout=0.25, seed=0)
    weighed = train_classifier(data, epochs=2, batch_size=16, width=8, holdout=0.25, seed=0, balance=True)
    said = [clf.report["attributes"]["Stripe_left"]["balanced_accuracy"] for clf in (plain, weighed)]
    assert said[0] < 0.6 and said[1] > 0.75
    assert weighed.report["training"]["balance"] and not plain.report["training"]["balance"]


def test_class_labels_become_attributes_and_unlabelled_data_is_refused():
    data = ImageData(torch.zeros(3, 1, 16, 16, dtype=torch.uint8), torch.tensor([0, 2, 1]), ["a", "b", "c"])
    targets, names = attribute_table(data)
    assert names == ["a", "b", "c"] and torch.equal(targets, torch.eye(3)[[0, 2, 1]])
    with pytest.raises(DCGANError, match="neither attributes nor class labels"):
        attribute_table(ImageData(torch.zeros(3, 1, 16, 16, dtype=torch.uint8)))


def test_conditions_parse_score_and_pick_the_most_confident():
    names = ["Bright", "Stripe_left"]
    cond = Condition.parse("Bright & !Stripe_left", names)
    assert str(cond) == "Bright&!Stripe_left"
    probs = torch.tensor([[0.9, 0.2], [0.6, 0.45], [0.99, 0.9], [0.97, 0.01], [0.2, 0.1]])
    assert cond.holds(probs, names).tolist() == [True, True, False, True, False]
    assert cond.pick(probs, names, k=1, groups=3).tolist() == [[3], [0], [1]]
    assert cond.recognition(probs, names) == pytest.approx(
        {"Bright&!Stripe_left": 0.6, "Bright": 0.8, "!Stripe_left": 0.8}
    )
    with pytest.raises(DCGANError, match="only 3 of 5"):
        cond.pick(probs, names, k=2, groups=2)
    for bad, message in (("Smiling", "unknown attribute"), ("Bright|Stripe_left", "cannot read")):
        with pytest.raises(DCGANError, match=message):
            Condition.parse(bad, names)


def test_exemplars_picked_by_condition_show_it(classifier):
    G = BrightnessG()
    pool = torch.randn(300, 4, generator=torch.Generator().manual_seed(0))
    groups = pick_exemplars(G, classifier, {"bl": "Bright&Stripe_left", "d": "!Bright"}, pool, k=3, groups=2)
    assert groups["bl"].shape == (2, 3, 4)
    assert (groups["bl"][..., 0] > 0.3).all() and (groups["bl"][..., 1] > 0).all()
    assert (groups["d"][..., 0] < -0.3).all()
    assert not set(groups["bl"][0, :, 0].tolist()) & set(groups["bl"][1, :, 0].tolist())  # disjoint groups


def test_measured_arithmetic_beats_random_samples(classifier):
    G = BrightnessG()
    pool = torch.randn(400, 4, generator=torch.Generator().manual_seed(1))
    concepts = {"BL": "Bright&Stripe_left", "DL": "!Bright&Stripe_left", "DR": "!Bright&!Stripe_left"}
    groups = pick_exemplars(G, classifier, concepts, pool, k=3, groups=4)
    runs, table = measure_arithmetic(G, classifier, "BL - DL + DR", groups, "Bright&!Stripe_left", pool[:36])
    assert len(runs) == 4 and table["latent"]["images"] == 36 and table["pixel"]["images"] == 4
    per_set = [table[f"exemplar set {t}"] for t in (1, 2, 3, 4)]  # each set's Y and its 8 noisy neighbours
    assert [row["images"] for row in per_set] == [9] * 4
    assert np.mean([row["Bright&!Stripe_left"] for row in per_set]) == pytest.approx(
        table["latent"]["Bright&!Stripe_left"]
    )
    assert table["latent"]["Bright&!Stripe_left"] > 0.9
    assert 0.1 < table["random"]["Bright&!Stripe_left"] < 0.45  # about one in four by chance
    moved = torch.zeros(20, 3, 4)
    moved[:, :, 1] = 1.0
    moved[:, :, 0] = torch.tensor([-2.0, 0.0, 2.0])
    by_strength = measure_direction(G, classifier, moved, torch.tensor([-1.0, 0.0, 1.0]), "Bright")
    assert by_strength["-1"]["Bright"] == 0.0 and by_strength["1"]["Bright"] == 1.0


def test_the_classifier_tables_its_held_out_accuracy(classifier):
    table = classifier.table(["Stripe_left", "Smiling"])  # attributes it does not know are left out
    scores = classifier.report["attributes"]["Stripe_left"]
    assert table.columns == ["attribute", "accuracy", "balanced_accuracy", "positive_rate"]
    assert table.rows == [["Stripe_left", *(f"{v:.3f}" for v in scores.values())]]
    assert [row[0] for row in classifier.table().rows] == ["Bright", "Stripe_left"]


def test_arithmetic_experiment_reports_its_figure_measurement_and_z(classifier, tmp_path):
    G, expect = BrightnessG(), "Bright&!Stripe_left"
    concepts = {"BL": "Bright&Stripe_left", "DL": "!Bright&Stripe_left", "DR": "!Bright&!Stripe_left"}
    report = arithmetic_experiment(G, "normal", "BL - DL + DR", concepts, classifier=classifier, expect=expect,
                                   pool=400, trials=2, n=4, seed=1)  # fmt: skip
    assert len(report.runs) == 2 and report.first.outputs.shape == (5, 4) and report.random_z.shape == (10, 4)
    assert torch.equal(report.runs[0].outputs, report.first.outputs)  # the figure shows the first trial
    assert report.success() == report.measured["latent"][expect] > 0.9
    assert report.to_dict() == {"expression": "BL - DL + DR", "concepts": concepts, "expect": expect, "trials": 2,
                                "table": report.measured}  # fmt: skip
    table = report.table()
    assert table.columns == ["outputs", "images", expect, "Bright", "!Stripe_left"]
    assert [row[:2] for row in table.rows] == [
        ["latent", "10"], ["exemplar set 1", "5"], ["exemplar set 2", "5"], ["pixel", "2"], ["random", "10"]
    ]  # fmt: skip
    assert table.rows[0][2] == f"{report.success():.3f}"
    per_set = [report.measured[f"exemplar set {t}"][expect] for t in (1, 2)]
    assert report.spread() == pytest.approx(np.std(per_set, ddof=1))
    assert report.figure.size[1] == 2 + 5 * 18  # a row per concept, the outputs, pixel space
    assert len(load_z(report.save_z(tmp_path / "a.safetensors"))) == 3 * 4 + 5  # exemplars and mean, outputs
    shown = arithmetic_experiment(G, "normal", "BL - DL + DR", concepts, classifier=classifier, pool=400, n=4, seed=1)
    assert shown.measured == {} and torch.equal(shown.first.outputs, report.first.outputs)
    once = arithmetic_experiment(G, "normal", "BL - DL + DR", concepts, classifier=classifier, expect=expect,
                                 pool=400, n=4, seed=1)  # fmt: skip
    assert list(once.measured) == ["latent", "pixel", "random"] and once.spread() is None  # one set: no spread
    with pytest.raises(DCGANError, match="need an attribute classifier"):
        arithmetic_experiment(G, "normal", "BL - DL + DR", concepts, expect=expect)
    with pytest.raises(NoExemplarsError, match="samples are scored"):
        arithmetic_experiment(G, "normal", "BL - DL + DR", concepts, classifier=classifier, pool=5)


def test_direction_experiment_moves_samples_and_measures_each_strength(classifier, tmp_path):
    G = BrightnessG()
    report = direction_experiment(G, "normal", "Bright", "!Bright", classifier=classifier, expect="Bright",
                                  strengths=(-2.0, 0.0, 2.0), pool=300, num=10, rows=4)  # fmt: skip
    assert report.moved.shape == (10, 3, 4) and torch.equal(report.shown, report.moved[:4].flatten(0, 1))
    assert report.vector[0] > 0  # bright exemplars have the larger z[0]
    assert report.measured["-2"]["Bright"] < report.measured["2"]["Bright"]
    assert report.to_dict() == {"positive": "Bright", "negative": "!Bright", "expect": "Bright",
                                "table": report.measured}  # fmt: skip
    assert [row[:2] for row in report.table().rows] == [["-2", "10"], ["0", "10"], ["2", "10"]]
    assert report.figure.size == (2 + 3 * 18, 2 + 4 * 18)  # a column per strength, a row per sample shown
    assert torch.equal(load_z(report.save_z(tmp_path / "d.safetensors")), report.shown)
