"""The latent-space commands end to end on a tiny trained model: files written, z saved, same seed same bytes."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import CELEBA_ATTRS, blobs, tiny_config, write_celeba
from dcgan import load_checkpoint, train
from dcgan.cli import main
from dcgan.core.sampling import render, sample_noise
from dcgan.experiments.attributes import load_classifier
from dcgan.experiments.latent import load_z, load_z_meta
from dcgan.experiments.pose import YawRegressor, load_regressor, save_regressor


def grey_levels(folder, levels: dict[str, int], per_class: int):
    """Class folders of noisy 16x16 grey images around each class's level: a known, easy attribute."""
    for label, value in levels.items():
        (folder / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.random.default_rng(i).normal(value, 15, (16, 16)).clip(0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / label / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("latent")
    train(tiny_config(root, epochs=1), blobs(64))
    return root / "run"


@pytest.fixture(scope="module")
def sheet(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("sheet") / "sheet.png"
    assert main(["sample", "--checkpoint", str(run), "--sheet", "-n", "12", "--nrow", "4", "-o", str(out)]) == 0
    return out.with_suffix(".safetensors")


def test_sheet_cells_regenerate_their_images(run, sheet):
    z = load_z(sheet)
    assert z.shape == (12, 16) and load_z_meta(sheet)["seed"] == 0
    ckpt = load_checkpoint(run)
    G = ckpt.generator()
    assert ckpt.noise == "normal"
    grid = np.asarray(Image.open(sheet.with_suffix(".png")))
    assert grid.shape == (2 + 3 * 18, 2 + 4 * 18, 3)
    cell7 = ((render(G, load_z(f"{sheet}#7"))[0, 0].clamp(-1, 1) + 1) * 127.5).round().numpy()
    y, x = 2 + 1 * 18, 2 + 3 * 18
    assert np.array_equal(grid[y + 13 : y + 16, x : x + 16, 0], cell7[13:])  # bottom rows: below the number label


def test_interpolate_writes_rows_gif_and_z_deterministically(run, tmp_path):
    args = ["interpolate", "--checkpoint", str(run), "--points", "4", "--steps", "5"]
    assert main([*args, "-o", str(tmp_path / "a.png")]) == 0
    assert main([*args, "-o", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert Image.open(tmp_path / "a.png").size == (2 + 5 * 18, 2 + 3 * 18)
    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 13  # 3 segments of 5, shared points once
    z = load_z(tmp_path / "a.safetensors")
    assert z.shape == (15, 16) and torch.allclose(z[4], z[5])
    assert load_z_meta(tmp_path / "a.safetensors")["spherical"] is True


def test_interpolate_through_sheet_cells_linearly(run, sheet, tmp_path):
    out = tmp_path / "w.png"
    assert (
        main(
            ["interpolate", "--checkpoint", str(run), "--z", f"{sheet}#2,9", "--linear", "--steps", "3", "-o", str(out)]
        )
        == 0
    )
    z = load_z(out.with_suffix(".safetensors"))
    cells = load_z(sheet)
    assert torch.allclose(z[1], (cells[2] + cells[9]) / 2) and torch.equal(z[0], cells[2])


def test_arithmetic_from_sheet_cells_saves_every_z_in_figure_order(run, sheet, tmp_path):
    out = tmp_path / "ar.png"
    concepts = ["--concept", f"A={sheet}#0,1,2", "--concept", f"B={sheet}#3-5", "--concept", f"C={sheet}#6,7,8"]
    assert main(["arithmetic", "--checkpoint", str(run), "A - B + C", *concepts, "-o", str(out)]) == 0
    z = load_z(out.with_suffix(".safetensors"))
    cells = load_z(sheet)
    assert z.shape == (3 * 4 + 9, 16) and torch.equal(z[:3], cells[:3])
    y = cells[:3].mean(0) - cells[3:6].mean(0) + cells[6:9].mean(0)
    assert torch.allclose(z[12], y, atol=1e-6) and (z[13:] - y).abs().max() <= 0.25
    assert load_z_meta(out.with_suffix(".safetensors"))["rows"][-1] == ["= Y, Y+noise", 9]
    assert Image.open(out).height == 2 + 5 * 18  # three concepts, the outputs, pixel space


def test_direction_moves_samples_by_the_mean_difference(run, sheet, tmp_path):
    out = tmp_path / "d.png"
    args = ["--positive", f"{sheet}#0,1", "--negative", f"{sheet}#2", "--strengths", "0,1", "-n", "3"]
    assert main(["direction", "--checkpoint", str(run), *args, "-o", str(out)]) == 0
    z = load_z(out.with_suffix(".safetensors"))
    cells = load_z(sheet)
    assert z.shape == (6, 16)
    assert torch.allclose(z[1] - z[0], cells[:2].mean(0) - cells[2], atol=1e-6)


def test_conditions_pick_exemplars_from_a_seeded_pool_and_measure(run, tmp_path, capsys):
    """Plumbing only (the tiny G draws near-uniform grey; tests/experiments/test_attributes.py checks picking on a
    known attribute)."""
    data = grey_levels(tmp_path / "data", {"grey": 127, "white": 235}, 60)
    clf = tmp_path / "clf.safetensors"
    assert main(["classifier", "--data", str(data), "--epochs", "12", "--width", "8", "-o", str(clf)]) == 0
    assert "grey | 1.000" in capsys.readouterr().out
    out = tmp_path / "ar.png"
    args = ["--concept", "a=grey", "--classifier", str(clf), "--pool", "50", "--seed", "4"]
    argv = ["arithmetic", "--checkpoint", str(run), "a", *args, "--expect", "grey", "--trials", "2"]
    assert main([*argv, "-o", str(out)]) == 0
    table = json.loads(out.with_suffix(".json").read_text())["table"]
    assert [table[row]["images"] for row in ("latent", "pixel", "random")] == [18, 2, 18]
    assert table["latent"]["grey"] == 1.0  # the mean of grey exemplars (every sample of this G is grey)
    # two names for one condition pick the same exemplars: a - b would be 0 whatever G learned, so it is refused
    two = ["arithmetic", "--checkpoint", str(run), "a - b", *args, "--concept", "b=!white", "-o", str(out)]
    assert main(two) == 2
    assert re.search(r"'a' and 'b' share [1-3] of their exemplars", capsys.readouterr().err)
    pool = sample_noise(50, 16, "normal", torch.Generator().manual_seed(4))
    exemplars = load_z(f"{out.with_suffix('.safetensors')}#0-2")
    assert all((pool == z).all(1).any() for z in exemplars)
    assert main([*argv[:-4], "--concept", "a=white", "-o", str(out)]) == 2
    assert "samples are scored white" in capsys.readouterr().err


def test_classifier_from_a_run_loads_the_runs_data_as_trained(run, tmp_path):
    """The blobs run has no --data, so its data is the bundled MNIST sample, read at the run's 16x16 grey."""
    out = tmp_path / "clf.safetensors"
    assert main(["classifier", "--checkpoint", str(run), "--limit", "200", "--epochs", "1", "-o", str(out)]) == 0
    clf = load_classifier(out)
    assert clf.names == [str(d) for d in range(10)]
    assert (clf.spec.resolution, clf.spec.channels) == (16, 1) and clf.report["train_images"] == 180


def test_attribute_classifier_and_its_alias_classifier_train_the_same_model(tmp_path, capsys):
    data = grey_levels(tmp_path / "data", {"dark": 60, "light": 200}, 40)
    images = torch.rand(4, 1, 16, 16) * 2 - 1
    predictions = []
    for command in ("attribute-classifier", "classifier"):
        out = tmp_path / f"{command}.safetensors"
        assert main([command, "--data", str(data), "--epochs", "1", "--width", "4", "-o", str(out)]) == 0
        assert f"wrote {out} (72 training images, 8 held out)" in capsys.readouterr().out
        clf = load_classifier(out)
        assert clf.names == ["dark", "light"] and (clf.spec.resolution, clf.spec.channels) == (16, 1)
        predictions.append(clf.predict(images))
    assert torch.equal(*predictions)  # one command under two names: the same seeded training


def test_attribute_classifier_validate_reports_on_training_images_and_keeps_the_held_out_ones_unseen(tmp_path, capsys):
    data = grey_levels(tmp_path / "data", {"dark": 60, "light": 200}, 40)
    out = tmp_path / "clf.safetensors"
    argv = ["attribute-classifier", "--data", str(data), "--epochs", "1", "--width", "4", "-o", str(out)]
    assert main([*argv, "--validate", "--balance", "--flip", "--decay"]) == 0
    assert f"wrote {out} (64 training images, 8 validation)" in capsys.readouterr().out
    report = load_classifier(out).report
    assert report["split"] == "validation"
    assert report["training"] == {"balance": True, "flip": True, "decay": True, "width": 4, "lr": 0.001}
    assert main([*argv, "--yaw"]) == 2
    assert "has no landmarks to learn yaw from" in capsys.readouterr().err
    assert main([*argv, "--yaw", "--balance"]) == 2
    assert "the yaw regressor has none" in capsys.readouterr().err


def test_the_yaw_regressor_trains_from_celeba_landmarks(tmp_path, capsys):
    rng = np.random.default_rng(0)
    eyes = np.array([[70, 110], [110, 110]])
    landmarks = [[*eyes, [90 + rng.integers(-15, 16), 130], [75, 150], [105, 150]] for _ in range(80)]
    write_celeba(tmp_path / "celeba", [CELEBA_ATTRS[i % 5] for i in range(80)], landmarks=landmarks)
    out = tmp_path / "yaw.safetensors"
    argv = ["attribute-classifier", "--data", str(tmp_path / "celeba"), "--resolution", "16", "--yaw"]
    assert main([*argv, "--epochs", "1", "--width", "4", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| faces | mae | correlation | real_yaw_std | mae_of_the_mean |" in printed
    assert f"wrote {out} (72 training images, 8 held out)" in printed
    regressor = load_regressor(out)
    assert regressor.report["held_out"]["faces"] == 8 and regressor.report["train_images"] == 72
    assert main([*argv, "--epochs", "1", "--width", "4", "--validate", "-o", str(out)]) == 0
    assert f"wrote {out} (64 training images, 8 validation)" in capsys.readouterr().out
    assert (regressor.spec.resolution, regressor.spec.channels) == (16, 3)


def test_direction_turn_picks_by_yaw_and_measures_it_beside_random_directions(run, tmp_path, capsys):
    """Plumbing (test_pose.py checks the values on a G whose yaw is known): an untrained regressor whose unit is
    made large enough to read the tiny G's near-flat samples (pixels within 0.001 of each other) as turned."""
    regressor = YawRegressor(16, 1, width=4)
    regressor.unit.fill_(1e8)
    regressor.report = {"held_out": {"real_yaw_std": 0.2}}
    path = save_regressor(regressor, tmp_path / "yaw.safetensors")
    out = tmp_path / "turn.png"
    argv = ["direction", "--checkpoint", str(run), "--turn", str(path), "--pool", "40", "--exemplars", "2"]
    assert main([*argv, "-n", "3", "--rows", "2", "--random-directions", "2", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| strength | turn: mean yaw | turn: std | random: mean yaw | random: std |" in printed
    written = json.loads(out.with_suffix(".json").read_text())
    assert written["command"] == "direction" and written["random_directions"] == 2
    assert [row["strength"] for row in written["table"]] == ["-1", "-0.5", "0", "0.5", "1"]
    assert len(written["exemplar_yaw"]["left"]) == 2 and max(written["exemplar_yaw"]["left"]) < -0.1
    assert load_z(out.with_suffix(".safetensors")).shape == (2 * 5, 16)
    assert Image.open(out).size == (2 + 5 * 18, 2 + 2 * 18)
    assert main([*argv, "--positive", "Smiling"]) == 2
    assert "drop --positive, --negative, --classifier and --expect" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["interpolate", "--points", "1"], "--points"),
        (["arithmetic", "A - B", "--concept", "A=x.safetensors"], "names ['A', 'B']"),
        (["arithmetic", "A", "--concept", "A=Smiling"], "need an attribute classifier"),
        (["arithmetic", "A", "--concept", "A=Smiling", "--trials", "2"], "add --expect"),
        (["direction", "--positive", "p.safetensors", "--negative", "n.safetensors", "--strengths", "a"], "strengths"),
        (["sample", "--sheet", "--separate"], "exclude"),
        (["direction", "--positive", "SHEET#0,1", "--negative", "SHEET#1,2"], "'positive' and 'negative' share 1"),
        (["arithmetic", "A - B", "--concept", "A=SHEET#0-2", "--concept", "B=SHEET#2,0"], "share 2 of their"),
        (["direction", "--positive", "SHEET#0"], "a direction needs --positive and --negative"),
        (["direction", "--turn", "none.safetensors"], "yaw regressor none.safetensors does not exist"),
        (["direction", "--turn", "SHEET"], "is not a yaw regressor"),
    ],
)
def test_user_mistakes_are_one_line_errors(run, sheet, argv, message, capsys):
    argv = [arg.replace("SHEET", str(sheet)) for arg in argv]
    assert main([argv[0], "--checkpoint", str(run), *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
