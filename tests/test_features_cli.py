"""``dcgan features`` and ``dcgan classify`` end to end on tiny data."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import blobs
from dcgan.cli import main
from dcgan.data import default_test_split

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """Blobs (small vs large discs) as PNGs in train/<class>/ and test/<class>/, plus a tiny trained run."""
    root = tmp_path_factory.mktemp("features")
    data = blobs(240, resolution=32, seed=1)  # radii 2..8 px: half small, half large
    for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
        split = "train" if i < 160 else "test"
        path = root / "data" / split / data.class_names[label] / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0].numpy()).save(path)
    tiny = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "32", "--no-progress"]
    run = root / "run"
    args = ["train", "--data", str(root / "data" / "train"), "--resolution", "16", "--epochs", "1", "--out", str(run)]
    assert main([*args, "--sample-count", "4", *tiny]) == 0
    return root


def test_features_writes_the_matrix_and_labels(labelled, capsys):
    out = labelled / "feats.npy"
    argv = ["features", "--checkpoint", str(labelled / "run"), "--data", str(labelled / "data" / "test")]
    assert main([*argv, "-o", str(out), "--layers", "down2", "--no-progress"]) == 0
    feats, labels = np.load(out), np.load(labelled / "feats-labels.npy")
    assert feats.shape == (80, 16 * 16) and feats.dtype == np.float32 and np.abs(feats).sum() > 0
    assert labels.shape == (80,) and set(labels) == {0, 1}
    assert "80 x 256 float32" in capsys.readouterr().out
    assert main([*argv, "-o", str(out), "--random-init", "--no-progress"]) == 0
    assert not np.allclose(np.load(out)[:, :256], feats)  # down1 of another D: different numbers


def test_classify_puts_every_model_in_one_table_and_json(labelled, capsys):
    out = labelled / "table.json"
    argv = ["classify", "--checkpoint", str(labelled / "run"), "--data", str(labelled / "data" / "train")]
    argv += ["--protocol", "custom", "--labels-per-class", "10", "--validation-size", "40", "--draws", "2"]
    argv += ["--kmeans-k", "4", "--c-grid", "0.1,1", "--json", str(out), "--no-progress"]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    rows = {r["model"]: r for r in report["rows"]}
    assert list(rows) == ["DCGAN discriminator (ours)", "random discriminator", "raw pixels", "k-means (k=4)"]
    assert [r["feature_dim"] for r in rows.values()] == [16 * 24, 16 * 24, 256, 16]
    assert report["test"]["images"] == 80 and report["train"]["images"] == 160
    assert report["test"]["source"] == str(labelled / "data" / "test")  # found beside the train folder
    assert rows["raw pixels"]["accuracy"] > 0.7  # disc size is easy to read from pixels
    for r in rows.values():
        assert 0 <= r["accuracy"] <= 1 and len(r["limited_accuracies"]) == 2 and r["best_c"] in (0.1, 1.0)
    table = capsys.readouterr().out
    assert table.count("\n") == 6 and "k-means (k=4)" in table


def test_svhn_protocol_reports_test_error_over_draws_only(labelled, capsys):
    argv = ["classify", "--checkpoint", str(labelled / "run"), "--data", str(labelled / "data" / "train")]
    argv += ["--protocol", "svhn-1000", "--validation-size", "40", "--labels-per-class", "5", "--draws", "2"]
    assert main([*argv, "--baselines", "none", "--c-grid", "0.1", "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "test error at 5 labels/class (mean +- std, 2 draws)" in table
    assert table.splitlines()[2].startswith("| DCGAN discriminator (ours) | - | ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--protocol", "custom"], "needs --labels-per-class"),
        (["--protocol", "custom", "--labels-per-class", "500"], "fewer than 500"),
        (["--protocol", "cifar10", "--c-grid", "0.1,x"], "not a comma-separated list"),
        (["--protocol", "cifar10", "--baselines", "sift"], "unknown baseline sift"),
        (["--protocol", "cifar10", "--layers", "down9"], "no discriminator layer named down9"),
    ],
)
def test_bad_options_are_clear_errors(labelled, capsys, extra, message):
    argv = ["classify", "--checkpoint", str(labelled / "run"), "--data", str(labelled / "data" / "train")]
    assert main([*argv, "--validation-size", "40", "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "dcgan classify: error:" in err


def test_default_test_split(tmp_path):
    assert str(default_test_split("/x/cifar10-jpg.zip/cifar10/train")) == "/x/cifar10-jpg.zip/cifar10/test"
    (tmp_path / "t10k-images-idx3-ubyte.gz").touch()
    assert default_test_split(str(tmp_path)) == tmp_path / "t10k-images-idx3-ubyte.gz"
    assert main(["features", "--checkpoint", str(tmp_path), "--data", str(tmp_path), "-o", "x.txt"]) == 2
