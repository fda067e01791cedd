"""visualize-d, forget and nearest end to end on a tiny trained model."""

import json

import pytest
import torch
from PIL import Image
from test_cli_latent import grey_levels

from conftest import blobs, tiny_config
from dcgan import train
from dcgan.cli import main
from dcgan.experiments.latent import save_z


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("inside")
    train(tiny_config(root, epochs=1), blobs(64))
    return root / "run"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return grey_levels(tmp_path_factory.mktemp("grey") / "data", {"dark": 60, "light": 190}, 40)


def test_visualize_d_draws_trained_and_random_rows(run, images, tmp_path, capsys):
    out = tmp_path / "fig.png"
    args = ["--checkpoint", str(run), "--data", str(images), "--features", "2", "--per-feature", "3"]
    assert main(["visualize-d", *args, "-o", str(out)]) == 0
    assert Image.open(out).size[1] == 2 + 4 * 18  # 2 maps x (trained, random)
    assert "trained D: maps" in capsys.readouterr().out


def test_forget_reports_maps_and_detection(run, images, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    assert main(["sample", "--checkpoint", str(run), "--sheet", "-n", "8", "-o", str(sheet)]) == 0
    clf = tmp_path / "clf.safetensors"
    assert (
        main(["attribute-classifier", "--data", str(images), "--resolution", "16", "--epochs", "1", "-o", str(clf)])
        == 0
    )
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"boxes": {"0": [[0, 0, 8, 8]], "5": [[4, 4, 12, 12]]}}))
    args = ["forget", "--checkpoint", str(run), "--sheet", str(sheet.with_suffix(".safetensors"))]
    args += ["--boxes", str(boxes), "-o", str(tmp_path / "f.png"), "--json", str(tmp_path / "f.json")]
    assert main([*args, "--classifier", str(clf), "--detect", "light", "--held-out", "20"]) == 0
    report = json.loads((tmp_path / "f.json").read_text())
    assert report["dropped"] == len(report["dropped_maps"]) > 0
    assert set(report["detection"]["light"]) == {
        "samples",
        "maps_dropped",
        "before",
        "after",
        "after_random_maps",
        "after_random_maps_each",
    }
    assert "maps" in capsys.readouterr().out
    boxes.write_text(json.dumps({"boxes": {"8": [[0, 0, 8, 8]]}}))
    assert main(args) == 2
    assert "cell '8' is not on the sheet" in capsys.readouterr().err
    boxes.write_text(json.dumps({"boxes": {"0": [[0, 0, 8, 8]]}}))
    assert main([*args, "--classifier", str(clf), "--detect", "Smiling"]) == 2
    assert "Smiling" in capsys.readouterr().err  # unknown attribute: refused before any work


def test_forget_refuses_a_sheet_of_another_generator(run, tmp_path, capsys):
    sheet = save_z(tmp_path / "other.safetensors", torch.zeros(4, 3))  # z of length 3, the run's G takes more
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"boxes": {"0": [[0, 0, 8, 8]]}}))
    args = ["forget", "--checkpoint", str(run), "--sheet", str(sheet), "--boxes", str(boxes), "-o", str(tmp_path / "f")]
    assert main(args) == 2
    assert "the sheet's z have length 3" in capsys.readouterr().err


def test_visualize_d_unknown_layer_is_an_error(run, images, tmp_path, capsys):
    args = ["visualize-d", "--checkpoint", str(run), "--data", str(images), "--layer", "up9", "-o", str(tmp_path / "f")]
    assert main(args) == 2
    assert "no layer named 'up9'" in capsys.readouterr().err


def test_nearest_writes_montage_plot_and_numbers(run, images, tmp_path):
    out = tmp_path / "nn.png"
    args = ["nearest", "--checkpoint", str(run), "--data", str(images), "-n", "3", "--samples", "10"]
    assert main([*args, "--held-out", "5", "-o", str(out), "--json", str(tmp_path / "nn.json"), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "nn.json").read_text())
    assert summary["pixels"]["held_out"] == 5 and summary["D features"]["generated"] == 10
    assert Image.open(out).size[1] == 2 + 3 * 18
    assert (tmp_path / "nn-distances.png").is_file()
