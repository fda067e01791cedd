"""The linear L2-SVM, the protocols' splits, and linear_probe(): the section-5 table from Python."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.svm import LinearSVC

from conftest import HANG, src_env
from dcgan import DCGANError
from dcgan.cli import main
from dcgan.experiments import linear_probe as linear_probe_module
from dcgan.experiments import svm as svm_module
from dcgan.experiments.linear_probe import (
    ProbeReport,
    Protocol,
    evaluate_features,
    labelled_draw,
    linear_probe,
    make_splits,
    protocol_for,
)
from dcgan.experiments.svm import LinearSVM, accuracy, fit_svm, fit_svms, select_c, svm_objective

pytestmark = pytest.mark.usefixtures("single_thread")


def gaussian_classes(n: int, d: int, k: int, separation: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * separation
    labels = rng.integers(0, k, n)
    return (centres[labels] + rng.normal(size=(n, d))).astype(np.float32), labels


def table_of(rows, protocol) -> str:
    """The markdown table of a report holding ``rows``: what the command prints and the JSON holds."""
    return ProbeReport(protocol, {}, {}, {}, "", rows).table().markdown()


def test_splits_are_disjoint_class_balanced_and_seeded():
    labels = np.repeat(np.arange(10), 300)[np.random.default_rng(1).permutation(3000)]
    splits = make_splits(labels, validation_size=500, per_class=20, draws=3, seed=7)
    assert len(splits.validation) == 500 and len(np.intersect1d(splits.validation, splits.pool)) == 0
    assert np.array_equal(np.union1d(splits.validation, splits.pool), np.arange(3000))
    for draw in splits.draws:
        assert len(np.intersect1d(draw, splits.validation)) == 0 and len(np.unique(draw)) == 200
        assert np.array_equal(np.bincount(labels[draw]), np.full(10, 20))
    assert not np.array_equal(splits.draws[0], splits.draws[1])
    again, other = make_splits(labels, 500, 20, 3, seed=7), make_splits(labels, 500, 20, 3, seed=8)
    assert np.array_equal(again.validation, splits.validation)
    assert all(np.array_equal(a, b) for a, b in zip(again.draws, splits.draws, strict=True))
    assert not np.array_equal(other.validation, splits.validation)


def test_impossible_splits_are_clear_errors():
    labels = np.array([0] * 50 + [1] * 5)
    with pytest.raises(DCGANError, match="class 1 has only"):
        labelled_draw(labels, np.arange(55), 10, np.random.default_rng(0))
    with pytest.raises(DCGANError, match="validation size"):
        make_splits(labels, 55, None, 1)


def test_svm_separates_a_trivially_separable_set_and_is_at_chance_on_shuffled_labels():
    X, y = gaussian_classes(3000, 50, 5, separation=3.0)
    train, test = np.arange(2000), np.arange(2000, 3000)
    svm = fit_svm(X, y, train, C=1.0, num_classes=5)
    assert accuracy(svm, X, y, test) > 0.99
    shuffled = np.random.default_rng(0).permutation(y)
    chance = fit_svm(X, shuffled, train, C=1.0, num_classes=5)
    assert accuracy(chance, X, shuffled, train) > 0.3  # it fits noise on the training rows...
    assert abs(accuracy(chance, X, shuffled, test) - 0.2) < 0.05  # ...and is at chance on new ones


def test_solver_reaches_liblinears_optimum():
    X, y = gaussian_classes(600, 40, 3, separation=0.3, seed=1)
    rows = np.arange(600)
    for C in (0.01, 1.0):
        ours = fit_svm(X, y, rows, C, 3, max_iter=500)
        standardised = (X - ours.mean.numpy()) / ours.scale.numpy()
        # a huge intercept scaling makes liblinear's regularised bias effectively free, as in our objective
        ref = LinearSVC(C=C, loss="squared_hinge", tol=1e-8, max_iter=100_000, intercept_scaling=1e3)
        ref.fit(standardised, y)
        theirs = LinearSVM(
            torch.tensor(ref.coef_.T).float(), torch.tensor(ref.intercept_).float(), ours.mean, ours.scale
        )
        ours_obj, theirs_obj = svm_objective(ours, X, y, rows, C), svm_objective(theirs, X, y, rows, C)
        assert ours_obj <= theirs_obj * (1 + 1e-4)
        assert (ours.predict(X) == theirs.predict(X)).mean() > 0.99


def test_a_grid_solved_jointly_equals_each_c_solved_alone():
    X, y = gaussian_classes(400, 30, 3, separation=0.5, seed=3)
    rows = np.arange(300)
    joint = fit_svms(X, y, rows, [0.001, 0.1], 3, max_iter=500)
    for C, svm in zip([0.001, 0.1], joint, strict=True):
        alone = fit_svm(X, y, rows, C, 3, max_iter=500)
        assert svm.weight.shape == (30, 3)
        assert svm_objective(svm, X, y, rows, C) == pytest.approx(float(svm_objective(alone, X, y, rows, C)), rel=1e-4)
        assert (svm.predict(X) == alone.predict(X)).mean() > 0.99
    assert not torch.allclose(joint[0].weight, joint[1].weight)


def test_rows_read_in_many_chunks_through_one_buffer_are_the_rows_and_give_the_fit_of_one_chunk(tmp_path, monkeypatch):
    X, y = gaussian_classes(500, 20, 4, separation=0.5, seed=4)
    rows = np.sort(np.random.default_rng(0).permutation(500)[:350])  # not a contiguous range: gathered
    whole = fit_svms(X, y, rows, [0.01, 1.0], 4, max_iter=500)
    np.save(tmp_path / "x.npy", X.astype(np.float64))
    on_disk = np.load(tmp_path / "x.npy", mmap_mode="r")  # read-only, and not float32
    monkeypatch.setattr(svm_module, "CHUNK_ROWS", 64)  # 6 chunks, the last one short
    read = [(part, x.clone()) for part, x in svm_module._chunks(on_disk, rows)]
    assert [len(x) for _, x in read] == [64] * 5 + [30]
    assert torch.equal(torch.cat([x for _, x in read]), torch.from_numpy(X[rows]))
    chunked = fit_svms(on_disk, y, rows, [0.01, 1.0], 4, max_iter=500)
    for C, a, b in zip([0.01, 1.0], whole, chunked, strict=True):
        assert svm_objective(b, X, y, rows, C) == pytest.approx(float(svm_objective(a, X, y, rows, C)), rel=1e-4)
        assert (a.predict(X) == b.predict(on_disk)).mean() > 0.99


def test_evaluate_reports_every_draw_on_the_same_splits():
    X, y = gaussian_classes(1200, 20, 4, separation=1.0, seed=2)
    protocol = Protocol("custom", validation_size=200, labels_per_class=10, full=True, draws=3)
    splits = make_splits(y[:1000], 200, 10, 3, seed=0)
    lines = []
    row = evaluate_features(
        "model", X[:1000], y[:1000], X[1000:], y[1000:], protocol, splits, (0.01, 1.0), log=lines.append
    )
    assert row.feature_dim == 20 and row.best_c in (0.01, 1.0) and 0.8 < row.accuracy <= 1.0
    assert len(row.limited_accuracies) == 3 and len(row.limited_best_c) == 3
    # every number is an SVM's test accuracy: C chosen on the validation split, trained on the pool (all labels)
    # or on one draw's 40 labels, scored on every test row
    test_rows = np.arange(200)
    best, svm, _ = select_c(X[:1000], y[:1000], splits.pool, splits.validation, (0.01, 1.0), 4)
    assert row.best_c == best and row.accuracy == accuracy(svm, X[1000:], y[1000:], test_rows)
    for draw, chosen_c, limited in zip(splits.draws, row.limited_best_c, row.limited_accuracies, strict=True):
        best, svm, _ = select_c(X[:1000], y[:1000], draw, splits.validation, (0.01, 1.0), 4)
        assert chosen_c == best and limited == accuracy(svm, X[1000:], y[1000:], test_rows)
    assert row.limited_accuracy_std == pytest.approx(np.std(row.limited_accuracies))
    assert row.limited_accuracy_mean == pytest.approx(np.mean(row.limited_accuracies))
    assert row.limited_accuracy_mean < row.accuracy + 0.02  # 40 labels do not beat 1000
    assert len(lines) == 4
    assert [line.rsplit(" ", 1)[-1] for line in lines] == [f"{a:.4f}" for a in (row.accuracy, *row.limited_accuracies)]
    table = table_of([row], protocol)
    assert table.startswith("| model | features | all labels | 10/class |\n")
    mean, std = row.limited_accuracy_mean, 100 * row.limited_accuracy_std
    assert f"| model | 20 | {100 * row.accuracy:.2f}% | {100 * mean:.2f}% +- {std:.2f} |" in table
    error_table = table_of([row], Protocol("svhn-1000", 200, 10, full=False, draws=3))
    assert f"| model | 20 | {100 * row.accuracy:.2f}% | {100 * (1 - mean):.2f}% +- {std:.2f} error |" in error_table
    # overlapping classes: the draws disagree, so the spread is a real number (all three draws agree above),
    # and 800 labels beat 40
    X, y = gaussian_classes(1200, 20, 4, separation=0.3, seed=2)  # the same labels, so the same splits apply
    hard = evaluate_features("hard", X[:1000], y[:1000], X[1000:], y[1000:], protocol, splits, (0.01, 1.0), log=print)
    best, svm, _ = select_c(X[:1000], y[:1000], splits.pool, splits.validation, (0.01, 1.0), 4)
    assert hard.best_c == best and hard.accuracy == accuracy(svm, X[1000:], y[1000:], test_rows)
    for draw, chosen_c, limited in zip(splits.draws, hard.limited_best_c, hard.limited_accuracies, strict=True):
        best, svm, _ = select_c(X[:1000], y[:1000], draw, splits.validation, (0.01, 1.0), 4)
        assert chosen_c == best and limited == accuracy(svm, X[1000:], y[1000:], test_rows)
    assert len(set(hard.limited_accuracies)) == 3 and hard.accuracy > max(hard.limited_accuracies)
    assert hard.limited_accuracy_std == pytest.approx(np.std(hard.limited_accuracies))
    assert hard.limited_accuracy_std > 0.01
    assert hard.limited_accuracy_mean == pytest.approx(np.mean(hard.limited_accuracies))
    mean, std = 100 * hard.limited_accuracy_mean, 100 * hard.limited_accuracy_std
    assert f"| hard | 20 | {100 * hard.accuracy:.2f}% | {mean:.2f}% +- {std:.2f} |" in table_of([hard], protocol)
    # without the full column: the same draws, the same numbers, errors in the table
    draws_only = Protocol("custom", validation_size=200, labels_per_class=10, full=False, draws=3)
    limited = evaluate_features(
        "hard", X[:1000], y[:1000], X[1000:], y[1000:], draws_only, splits, (0.01, 1.0), log=print
    )
    assert limited.accuracy is None and limited.best_c is None
    assert limited.limited_accuracies == hard.limited_accuracies and limited.limited_best_c == hard.limited_best_c
    error = 100 * (1 - limited.limited_accuracy_mean)
    assert f"| hard | 20 |  | {error:.2f}% +- {std:.2f} error |" in table_of([limited], draws_only)


def test_fits_are_reused_only_for_the_same_number_of_classes():
    """The pick fits on training labels alone; the final probe counts the test split's classes too. A class only
    the test split has (a --limit that left it out of training) makes other SVMs, so they are fitted again."""
    X, y = gaussian_classes(1400, 20, 4, separation=1.0, seed=4)
    train, test = np.flatnonzero(y[:1000] < 3), np.arange(1000, 1400)  # class 3 only in the test split
    Xtr, ytr, Xte, yte = X[train], y[train], X[test], y[test]
    protocol = Protocol("custom", validation_size=150, labels_per_class=10, full=True, draws=0)
    splits = make_splits(ytr, 150, None, 0, seed=0)
    fits = {}
    picked = evaluate_features("m", Xtr, ytr, None, None, protocol, splits, (0.01, 1.0), log=print, fits=fits)
    assert list(fits) == [("all labels", 3)]
    reused = evaluate_features("m", Xtr, ytr, Xte, yte, protocol, splits, (0.01, 1.0), log=print, fits=fits)
    assert list(fits) == [("all labels", 3), ("all labels", 4)]  # fitted again, for 4 classes
    fresh = evaluate_features("m", Xtr, ytr, Xte, yte, protocol, splits, (0.01, 1.0), log=print)
    assert (reused.best_c, reused.accuracy) == (fresh.best_c, fresh.accuracy)
    assert reused.validation_accuracy == fresh.validation_accuracy
    assert picked.validation_accuracy is not None and reused.accuracy < 0.8  # class 3 is never predicted
    same = {("all labels", 4): fits[("all labels", 4)]}
    again = evaluate_features("m", Xtr, ytr, Xte, yte, protocol, splits, (0.01, 1.0), log=print, fits=same)
    assert again.accuracy == fresh.accuracy and list(same) == [("all labels", 4)]  # found there: used, not refitted


def test_linear_probe_from_python_is_the_commands_table(labelled, tmp_path, capsys):
    """linear_probe() on the CLI test's tiny run and blobs: the rows and table ``dcgan linear-probe`` writes."""
    checkpoint, data = labelled / "run", labelled / "data" / "train"
    argv = ["linear-probe", "--checkpoint", str(checkpoint), "--data", str(data), "--protocol", "custom"]
    argv += ["--labels-per-class", "10", "--validation-size", "40", "--draws", "2", "--kmeans-k", "4"]
    assert main([*argv, "--c-grid", "0.1,1", "--json", str(tmp_path / "cli.json"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    cli = json.loads((tmp_path / "cli.json").read_text())
    lines = []
    report = linear_probe(
        checkpoint,
        data,
        protocol_for("custom", labels_per_class=10, validation_size=40, draws=2),
        c_grid=(0.1, 1.0),
        kmeans_k=4,
        progress=False,
        log=lines.append,
    )
    assert isinstance(report, ProbeReport)
    ours = report.to_dict()
    assert [(row["model"], row["feature_dim"]) for row in ours["rows"]] == [
        (row["model"], row["feature_dim"]) for row in cli["rows"]
    ]
    assert [(row["model"], row["feature_dim"]) for row in ours["rows"]] == [
        ("DCGAN discriminator (ours)", 16 * 24),
        ("random discriminator", 16 * 24),
        ("raw pixels", 256),
        ("k-means (k=4)", 16),
    ]
    table = report.table().markdown()
    assert table + "\n" == printed and ours["table"] == cli["table"] == table and table.count("\n") == 5
    assert ours["train"] == cli["train"] and ours["test"] == cli["test"] and ours["protocol"] == cli["protocol"]
    assert lines[0] == f"train 160 images from {data}, test 80 from {labelled / 'data' / 'test'}"


def test_validation_only_never_reads_the_test_split_and_scores_the_chosen_c(labelled, tmp_path, capsys):
    """--validation-only: the score to choose a checkpoint by; the test split is not read (a missing one is fine),
    and the number is the validation accuracy of the C the full probe chooses."""
    checkpoint, data = labelled / "run", labelled / "data" / "train"
    argv = ["linear-probe", "--checkpoint", str(checkpoint), "--data", str(data), "--protocol", "custom"]
    argv += ["--labels-per-class", "10", "--validation-size", "40", "--c-grid", "0.1,1", "--baselines", "random"]
    missing = str(tmp_path / "no-such-test-split")
    json_out = tmp_path / "val.json"
    assert main([*argv, "--validation-only", "--test-data", missing, "--json", str(json_out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    chosen = json.loads(json_out.read_text())
    assert chosen["test"] is None
    assert printed.startswith("| model | features | validation accuracy, all labels |\n")
    assert main([*argv, "--json", str(tmp_path / "full.json"), "--no-progress"]) == 0
    full = json.loads((tmp_path / "full.json").read_text())
    for picked, tested in zip(chosen["rows"], full["rows"], strict=True):
        assert picked["accuracy"] is None and picked["limited_accuracies"] == []
        assert picked["best_c"] == tested["best_c"]
        assert 0 < picked["validation_accuracy"] == tested["validation_accuracy"] <= 1
        assert f"| {picked['model']} | 384 | {100 * picked['validation_accuracy']:.2f}% |" in printed
    capsys.readouterr()
    assert main([*argv, "--test-data", missing, "--no-progress"]) == 2  # the full probe does read it
    assert "no-such-test-split does not exist" in capsys.readouterr().err


def counted(function, made: dict, name: str):
    def wrapper(*args, **kwargs):
        made[name] += 1
        return function(*args, **kwargs)

    return wrapper


@pytest.fixture(scope="module")
def kept(labelled, tmp_path_factory):
    """A run that kept a checkpoint every epoch for 3 epochs, and the probe's arguments to pick among them."""
    run = tmp_path_factory.mktemp("kept") / "run"
    tiny = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "32", "--precision", "fp32"]
    data = labelled / "data" / "train"
    args = ["train", "--data", str(data), "--resolution", "16", "--epochs", "3", "--checkpoint-every", "1"]
    assert main([*args, "--out", str(run), "--sample-count", "4", "--no-progress", *tiny]) == 0
    probe = ["linear-probe", "--data", str(data), "--protocol", "custom", "--labels-per-class", "10"]
    probe += ["--validation-size", "40", "--draws", "1", "--c-grid", "0.1,1", "--baselines", "none", "--no-progress"]
    return run, probe


def measured(rows):  # a table's numbers, not the seconds and memory they took
    return [{k: v for k, v in r.items() if not k.endswith("seconds") and k != "peak_rss_mb"} for r in rows]


def test_pick_by_validation_scores_every_kept_checkpoint_and_probes_the_best(kept, tmp_path, capsys, monkeypatch):
    """--pick-by-validation: each checkpoint a run kept is scored on validation exactly as --validation-only scores
    it alone; the best is the one probed, and its table is that checkpoint's own, without extracting its training
    features or fitting its all-labels SVMs a second time."""
    run, probe = kept
    made = {"extract": 0, "select_c": 0}
    for name in made:
        monkeypatch.setattr(linear_probe_module, name, counted(getattr(linear_probe_module, name), made, name))
    assert main([*probe, "--checkpoint", str(run), "--pick-by-validation", "--json", str(tmp_path / "pick.json")]) == 0
    # the pick: 3 checkpoints' training features, each fitted with all labels; then the chosen one's test
    # features and its one labelled draw (its training features and all-labels fit are the pick's)
    assert made == {"extract": 3 + 1, "select_c": 3 + 1}
    picked = json.loads((tmp_path / "pick.json").read_text())
    checkpoints = [run / "checkpoints" / f"epoch_{e:04d}.safetensors" for e in (1, 2, 3)]  # the last is epoch 3's
    assert list(picked["picked_by_validation"]) == [str(c) for c in checkpoints]
    for checkpoint in checkpoints:
        alone = tmp_path / f"{checkpoint.stem}.json"
        assert main([*probe, "--checkpoint", str(checkpoint), "--validation-only", "--json", str(alone)]) == 0
        score = json.loads(alone.read_text())["rows"][0]["validation_accuracy"]
        assert picked["picked_by_validation"][str(checkpoint)] == score
    scores = picked["picked_by_validation"]
    best = max(reversed(list(scores)), key=scores.get)
    assert picked["checkpoint"] == best
    assert main([*probe, "--checkpoint", best, "--json", str(tmp_path / "best.json")]) == 0
    assert measured(picked["rows"]) == measured(json.loads((tmp_path / "best.json").read_text())["rows"])
    capsys.readouterr()
    assert main([*probe, "--checkpoint", str(checkpoints[0]), "--pick-by-validation"]) == 2
    assert "is not a run folder with checkpoints" in capsys.readouterr().err


def test_a_stopped_pick_continues_with_the_next_checkpoint(kept, tmp_path, capsys, monkeypatch):
    """With --workdir each candidate's score is kept as it is measured: a pick stopped during the second checkpoint
    scores only the second and third when run again, and probes what a pick never stopped probes (the chosen one's
    features and fits made again if an earlier run scored it). Scored another way, nothing is reused."""
    run, probe = kept
    probe = [*probe, "--checkpoint", str(run), "--pick-by-validation"]
    assert main([*probe, "--json", str(tmp_path / "whole.json")]) == 0
    whole = json.loads((tmp_path / "whole.json").read_text())
    first = str(run / "checkpoints" / "epoch_0001.safetensors")
    made = {"extract": 0, "select_c": 0}
    for name in made:
        monkeypatch.setattr(linear_probe_module, name, counted(getattr(linear_probe_module, name), made, name))
    fit = linear_probe_module.select_c

    def stop_during_the_second(*args, **kwargs):
        if made["select_c"] == 1:  # the first checkpoint's fit is done
            raise KeyboardInterrupt
        return fit(*args, **kwargs)

    work = tmp_path / "work"
    monkeypatch.setattr(linear_probe_module, "select_c", stop_during_the_second)
    assert main([*probe, "--workdir", str(work)]) == 130
    (scored,) = json.loads((work / "pick-scores.json").read_text())["scored"].values()
    assert scored == {"checkpoint": first, "validation_accuracy": whole["picked_by_validation"][first]}
    monkeypatch.setattr(linear_probe_module, "select_c", fit)
    made.update(extract=0, select_c=0)
    assert main([*probe, "--workdir", str(work), "--json", str(tmp_path / "continued.json")]) == 0
    continued = json.loads((tmp_path / "continued.json").read_text())
    assert "epoch_0001.safetensors: validation" in capsys.readouterr().err
    again = whole["checkpoint"] == first  # the chosen one was scored by the stopped run: its features are made again
    # the other two checkpoints' training features and all-labels fits, the test features and the one draw's fit
    assert made == {"extract": 2 + 1 + again, "select_c": 2 + 1 + again}
    assert continued["picked_by_validation"] == whole["picked_by_validation"]
    assert continued["checkpoint"] == whole["checkpoint"]
    assert measured(continued["rows"]) == measured(whole["rows"])
    made.update(extract=0, select_c=0)
    assert main([*probe, "--workdir", str(work), "--seed", "1", "--validation-only"]) == 0
    assert made == {"extract": 3, "select_c": 3}  # other splits: every checkpoint scored again


# SIGTERM once the first features are on disk, in the probe's temporary folder
TERMINATED_MIDWAY = """
import os, signal, sys
from dcgan.cli import main
from dcgan.experiments import linear_probe
extract = linear_probe.extract
def extract_then_terminate(extractor, images, path, *args, **kwargs):
    features = extract(extractor, images, path, *args, **kwargs)
    print(path, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    return features
linear_probe.extract = extract_then_terminate
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_midway_removes_the_temporary_features_and_exits_143_with_one_line(labelled, tmp_path):
    """SIGTERM unwinds as Ctrl-C does: the probe's temporary folder (gigabytes at CIFAR-10's size) goes with it,
    where Python's default handler would end the process and leave the folder behind."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    argv = ["linear-probe", "--checkpoint", str(labelled / "run"), "--data", str(labelled / "data" / "train")]
    argv += ["--protocol", "custom", "--labels-per-class", "10", "--validation-size", "40", "--no-progress"]
    ran = subprocess.run(
        [sys.executable, "-c", TERMINATED_MIDWAY, *argv],
        env={**src_env(), "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert ran.returncode == 143 and "Traceback" not in ran.stderr
    assert ran.stderr.splitlines()[-1] == "dcgan linear-probe: stopped by SIGTERM"
    (written,) = ran.stdout.splitlines()  # the first features file, then the signal
    assert written.startswith(str(scratch / "dcgan-features-")) and written.endswith("ours-train.npy")
    assert not list(scratch.iterdir())  # the folder it was in is gone


def test_unlabelled_data_is_refused_before_any_checkpoint_is_scored(labelled, tmp_path, capsys, monkeypatch):
    flat = tmp_path / "flat"  # the same images, with no class folders: no labels
    flat.mkdir()
    for image in (labelled / "data" / "train").rglob("*.png"):
        (flat / f"{image.parent.name}-{image.name}").write_bytes(image.read_bytes())
    made = {"extract": 0}
    monkeypatch.setattr(linear_probe_module, "extract", counted(linear_probe_module.extract, made, "extract"))
    probe = ["linear-probe", "--protocol", "custom", "--labels-per-class", "10", "--validation-size", "40"]
    probe += ["--baselines", "none", "--no-progress", "--checkpoint", str(labelled / "run"), "--pick-by-validation"]
    train, test = labelled / "data" / "train", labelled / "data" / "test"
    for data, test_data, unlabelled in ((flat, test, flat), (train, flat, flat)):
        assert main([*probe, "--data", str(data), "--test-data", str(test_data)]) == 2
        err = capsys.readouterr().err
        assert f"{unlabelled} has no labels" in err and "Traceback" not in err
    assert made["extract"] == 0  # refused before the pick scored any checkpoint
