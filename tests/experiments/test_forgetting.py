"""Forgetting: the boxes file, box masks, the ablation hook and the logistic-regression map selection."""

import contextlib
import json

import pytest
import torch

from dcgan import DCGANError
from dcgan.core.models import Generator, ModelSpec
from dcgan.core.sampling import render, sample_noise, seeded
from dcgan.experiments.forgetting import (
    BLIND_VERSIONS,
    blind_sheet,
    box_masks,
    change_inside_boxes,
    detection_rates,
    drop_maps,
    forget,
    forgetting_experiment,
    layer_activations,
    load_boxes,
    object_layer,
    select_object_maps,
    unblind,
)


@pytest.fixture
def gen():
    torch.manual_seed(0)
    return Generator(ModelSpec(resolution=16, channels=1, nz=8, g_width=8)).eval()


def write(tmp_path, content) -> str:
    path = tmp_path / "boxes.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_boxes_round_trip(tmp_path):
    path = write(tmp_path, {"object": "disc", "boxes": {"3": [[0, 2, 8, 10]], "0": [[1, 1, 16, 16], [4, 4, 5, 5]]}})
    assert load_boxes(path, cells=4, resolution=16) == {3: [(0, 2, 8, 10)], 0: [(1, 1, 16, 16), (4, 4, 5, 5)]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no boxes"),
        ({"boxes": {}}, "holds no boxes"),
        ("[1, 2]", "not a boxes file"),
        ("{not json", "not a boxes file"),
        ({"boxes": {"4": [[0, 0, 8, 8]]}}, "cell '4' is not on the sheet"),
        ({"boxes": {"x": [[0, 0, 8, 8]]}}, "cell 'x' is not on the sheet"),
        ({"boxes": {"1": [[0, 0, 17, 8]]}}, "outside the 16x16 image"),
        ({"boxes": {"1": [[-1, 0, 8, 8]]}}, "outside"),
        ({"boxes": {"1": [[8, 0, 8, 8]]}}, "empty"),
        ({"boxes": {"1": [[0, 0, 8]]}}, "empty or outside"),
        ({"boxes": {"1": [[0, 0, 8.5, 8]]}}, "empty or outside"),
        ({"boxes": [[0, 0, 8, 8]]}, "must map each cell"),
        ({"boxes": {"1": {"x0": 0}}}, "must map each cell"),
    ],
)
def test_bad_boxes_files_are_one_clear_error(tmp_path, content, message):
    with pytest.raises(DCGANError, match=message) as err:
        load_boxes(write(tmp_path, content), cells=4, resolution=16)
    assert err.value.fix  # every error says how to fix it


def test_missing_boxes_file(tmp_path):
    with pytest.raises(DCGANError, match="does not exist"):
        load_boxes(tmp_path / "none.json", 4, 16)


def test_box_masks_map_pixels_to_layer_positions():
    masks = box_masks([[(0, 0, 8, 8)], [(4, 8, 16, 12), (0, 14, 3, 16)]], resolution=16, size=4)
    expected0 = torch.zeros(4, 4, dtype=torch.bool)
    expected0[:2, :2] = True  # position centres at 2, 6, 10, 14 pixels
    expected1 = torch.zeros(4, 4, dtype=torch.bool)
    expected1[2, 1:] = True
    expected1[3, 0] = True
    assert torch.equal(masks[0], expected0) and torch.equal(masks[1], expected1)


def test_drop_maps_zeroes_exactly_the_chosen_maps(gen):
    z = torch.randn(5, 8)
    layer = object_layer(gen)
    assert layer == "up1"
    plain = layer_activations(gen, z, layer)
    with drop_maps(gen, layer, [1, 4]):
        dropped = layer_activations(gen, z, layer)
    keep = [c for c in range(plain.shape[1]) if c not in (1, 4)]
    assert plain[:, [1, 4]].abs().sum() > 0 and torch.all(dropped[:, [1, 4]] == 0)
    assert torch.equal(dropped[:, keep], plain[:, keep])  # bit-identical
    assert torch.equal(layer_activations(gen, z, layer), plain)  # hook removed


def planted(n=30, maps=8, size=8, seed=0):
    """Non-negative noise activations, map 5 strongly on inside one random box per image: a planted object."""
    g = torch.Generator().manual_seed(seed)
    acts = torch.rand(n, maps, size, size, generator=g)
    masks = torch.zeros(n, size, size, dtype=torch.bool)
    for i in range(n):
        y, x = torch.randint(0, size - 3, (2,), generator=g).tolist()
        masks[i, y : y + 3, x : x + 3] = True
    acts[:, 5][masks] += 2.0
    return acts, masks


def test_selection_recovers_the_planted_object_map():
    acts, masks = planted()
    weights, selected = select_object_maps(acts, masks, seed=0)
    assert 5 in selected and int(weights.argmax()) == 5
    assert selected == [c for c in range(8) if weights[c] > 0]
    assert weights[5] > 5 * max(abs(w) for c, w in enumerate(weights) if c != 5)


@contextlib.contextmanager
def planted_object(gen):
    """G draws an 'object' with map 5 of its object layer, in the top-left quarter, when z[0] > 0."""
    layer, has_object = object_layer(gen), {}

    def remember(module, inputs):  # the first block sees z: note which images carry the object
        has_object["now"] = inputs[0].flatten(1)[:, 0] > 0

    def plant(module, inputs, output):
        output = output.clone()
        size = output.shape[-1] // 2
        output[:, 5, :size, :size] += 4.0 * has_object["now"][:, None, None]
        return output

    handles = [
        gen.blocks["project"].register_forward_pre_hook(remember),
        gen.blocks[layer].register_forward_hook(plant),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def test_forget_finds_and_removes_an_object_planted_in_a_generator(gen):
    z = torch.randn(24, 8, generator=torch.Generator().manual_seed(1))
    with planted_object(gen):
        with_object = (z[:, 0] > 0).nonzero()[:, 0].tolist()
        result = forget(gen, z, {c: [(0, 0, 8, 8)] for c in with_object}, seed=0)
    assert int(result.weights.argmax()) == 5 and 5 in result.dropped
    assert result.activation["inside_after"] < result.activation["inside_before"]


def test_dropping_the_object_maps_changes_the_boxes_not_the_rest_unlike_random_maps(gen):
    """Measured on boxed cells the maps were not fitted on: the planted object's maps change the top-left
    quarter far more than the rest of the image; as many random maps change both alike."""
    z = torch.randn(40, 8, generator=torch.Generator().manual_seed(1))
    with planted_object(gen):
        boxes = {c: [(0, 0, 8, 8)] for c in (z[:, 0] > 0).nonzero()[:, 0].tolist()}
        change = change_inside_boxes(gen, z, boxes, seed=0, most=1)
        again = change_inside_boxes(gen, z, boxes, seed=0, most=1)
    assert change == again  # seeded
    assert change["object maps"]["maps"] == pytest.approx(1) and change["random maps"]["maps"] == pytest.approx(1)
    assert change["object maps"]["ratio"] > 3 and change["object maps"]["inside"] > 2 * change["random maps"]["inside"]
    assert change["object maps"]["ratio"] == pytest.approx(
        change["object maps"]["inside"] / change["object maps"]["outside"]
    )
    with pytest.raises(DCGANError, match="at least 2 boxed cells"):
        change_inside_boxes(gen, z, {0: [(0, 0, 8, 8)]})


def test_the_blind_sheet_shows_each_sample_three_ways_and_its_key_unblinds_a_count(gen):
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(2))
    layer = object_layer(gen)
    images, key = blind_sheet(gen, z, layer, [1, 2], seed=3)
    assert sorted(key) == sorted((i, v) for i in range(5) for v in BLIND_VERSIONS)
    assert key != [(i, v) for i in range(5) for v in BLIND_VERSIONS]  # shuffled
    drawn = render(gen, z)
    with drop_maps(gen, layer, [1, 2]):
        dropped = render(gen, z)
    for position, (i, version) in enumerate(key):
        expected = {"as drawn": drawn, "object maps dropped": dropped}.get(version)
        if expected is not None:
            assert torch.equal(images[position], expected[i])
    seen = [p for p, (_, version) in enumerate(key) if version != "object maps dropped"]
    seen.remove(next(p for p, (_, version) in enumerate(key) if version == "as drawn"))
    assert unblind(key, seen) == {"as drawn": 0.8, "object maps dropped": 0.0, "random maps dropped": 1.0}
    assert blind_sheet(gen, z, layer, [1, 2], seed=3)[1] == key


def test_most_keeps_the_largest_positive_weights():
    acts, masks = planted()
    weights, every = select_object_maps(acts, masks, seed=0)
    _, two = select_object_maps(acts, masks, seed=0, most=2)
    assert len(every) > 2 and two == sorted(sorted(every, key=lambda c: -weights[c])[:2]) and 5 in two


def test_detection_rates_before_after_and_random_control(gen):
    """A classifier stand-in that flags images by their mean: zeroing maps shifts it, zeroing none does not."""

    class Bright:
        names = ("bright",)

        def predict(self, images):
            return (images.mean((1, 2, 3)) > threshold).float()[:, None]

    z = torch.randn(40, 8)
    layer = object_layer(gen)
    threshold = float(render(gen, z).mean((1, 2, 3)).median())
    rates = detection_rates(gen, Bright(), "bright", z, layer, [0, 1, 2, 3], seed=0)
    assert rates["samples"] == 40 and rates["maps_dropped"] == 4
    assert rates["before"] == 0.5  # the median splits the 40 samples in half
    assert rates["after"] != rates["before"] and len(rates["after_random_maps_each"]) == 5
    assert rates["after_random_maps"] == pytest.approx(sum(rates["after_random_maps_each"]) / 5)
    assert detection_rates(gen, Bright(), "bright", z, layer, [], seed=0)["after"] == 0.5


def test_boxes_covering_nothing_are_an_error():
    acts, _ = planted()
    with pytest.raises(DCGANError, match="cover no position"):
        select_object_maps(acts, torch.zeros(30, 8, 8, dtype=torch.bool))


def test_forget_redraws_the_boxed_cells_without_the_maps(gen):
    z = torch.randn(6, 8)
    result = forget(gen, z, {1: [(0, 0, 8, 8)], 4: [(8, 8, 16, 16)]}, seed=0)
    assert result.before.shape == result.after.shape == (2, 1, 16, 16)
    assert result.dropped == [c for c, w in enumerate(result.weights) if w > 0] and result.dropped
    assert not torch.equal(result.before, result.after)
    assert result.activation["inside_after"] < result.activation["inside_before"]
    assert result.summary()["dropped"] == len(result.dropped)
    assert result.figure().size[1] == 2 + 2 * 18
    assert result.figure(show=1).size[0] < result.figure().size[0]


def test_forgetting_experiment_adds_the_detection_rates_to_its_report(gen):
    class Bright:
        names, spec = ["bright"], gen.spec

        def predict(self, images):
            return (images.mean((1, 2, 3)) > 0).float()[:, None]

    z, boxes = torch.randn(6, 8, generator=seeded(5)), {1: [(0, 0, 8, 8)], 4: [(8, 8, 16, 16)]}
    result = forgetting_experiment(gen, z, boxes, seed=2, classifier=Bright(), detect="bright", held_out=20)
    alone = forget(gen, z, boxes, seed=2)
    assert result.dropped == alone.dropped and "detection" not in alone.to_dict()
    fresh = sample_noise(20, 8, "normal", seeded(2))  # drawn with the same seed as the negatives
    rates = detection_rates(gen, Bright(), "bright", fresh, result.layer, result.dropped, seed=2)
    assert result.detection == {"bright": rates}
    assert result.to_dict() == {**alone.summary(), "detection": {"bright": rates}}
    table = result.table("bright", "object")
    assert table.columns == ["as drawn", f"{len(result.dropped)} object maps dropped", "as many random maps dropped",
                             "each of the 5 random draws"]  # fmt: skip
    each = ", ".join(f"{r:.3f}" for r in rates["after_random_maps_each"])
    assert table.rows == [[*(f"{rates[key]:.3f}" for key in ("before", "after", "after_random_maps")), each]]

    class Larger(Bright):
        spec = ModelSpec(resolution=32, channels=1)

    with pytest.raises(DCGANError, match="the classifier sees 32px images"):
        forgetting_experiment(gen, z, boxes, classifier=Larger(), detect="bright")
    with pytest.raises(DCGANError, match="unknown attribute 'dark'"):
        forgetting_experiment(gen, z, boxes, classifier=Bright(), detect="dark")
