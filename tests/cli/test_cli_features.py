"""``dcgan features`` and ``dcgan linear-probe`` (alias ``classify``) end to end on tiny data."""

import json

import numpy as np
import pytest

from dcgan.cli import main

pytestmark = pytest.mark.usefixtures("single_thread")


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
    header, _, ours = table.splitlines()
    assert header == "| model | features |  | 5/class |"  # no all-labels column; test error over the draws
    assert ours.startswith(f"| DCGAN discriminator (ours) | {16 * 24} |  | ") and ours.endswith(" error |")


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


def test_classify_and_linear_probe_are_one_command(labelled, tmp_path, capsys):
    """classify is the old name of linear-probe: the same arguments give the same table (timings aside)."""
    args = ["--checkpoint", str(labelled / "run"), "--data", str(labelled / "data" / "train")]
    args += ["--protocol", "custom", "--labels-per-class", "10", "--validation-size", "40", "--draws", "2"]
    args += ["--baselines", "random,pixels", "--c-grid", "0.1,1", "--no-progress"]
    reports, tables = {}, {}
    for command in ("classify", "linear-probe"):
        assert main([command, *args, "--json", str(tmp_path / f"{command}.json")]) == 0
        tables[command] = capsys.readouterr().out
        reports[command] = json.loads((tmp_path / f"{command}.json").read_text())
    timing = {"extract_seconds", "svm_seconds", "peak_rss_mb"}
    rows = {
        command: [{k: v for k, v in row.items() if k not in timing} for row in report["rows"]]
        for command, report in reports.items()
    }
    assert [row["model"] for row in rows["classify"]] == [
        "DCGAN discriminator (ours)",
        "random discriminator",
        "raw pixels",
    ]
    assert rows["classify"] == rows["linear-probe"]
    assert {k: v for k, v in reports["classify"].items() if k != "rows"} == {
        k: v for k, v in reports["linear-probe"].items() if k != "rows"
    }
    assert tables["classify"] == tables["linear-probe"] and tables["classify"].count("\n") == 5
