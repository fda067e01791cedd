"""``dcgan reproduce`` at --scale test on the real data of ../shared/data: stages, skip on rerun, resume, page."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.io
import torch
from safetensors.torch import load_file

from conftest import SHARED_DATA
from dcgan import load_checkpoint
from dcgan.cli import main
from dcgan.core.folderlock import holding
from dcgan.errors import DCGANError
from dcgan.experiments.forgetting import load_boxes
from dcgan.experiments.pose import YawRegressor, load_regressor, train_yaw_regressor
from dcgan.reproduce import RECIPES, SCALES, Levers, context, estimate_hours, gather, reproduce, runner, stage_context
from dcgan.reproduce.page import hours_by_machine
from dcgan.reproduce.records import Marker, Outcome, StageEntry, Summary
from dcgan.reproduce.runner import (
    DONE,
    SESSIONS,
    Stage,
    counted_seconds,
    run_stage,
    session_seconds,
    stage_compute,
    where_it_runs,
)
from dcgan.reproduce.settings import SETTINGS
from dcgan.reproduce.stage_context import config_file
from dcgan.reproduce.stages import latent as latent_stages
from dcgan.training import Callback
from dcgan.training.options_file import read_options

PRESENT = ("mnist", "cifar10", "faces", "lsun")  # the recipes whose data ../shared/data holds
PAPER_NUMBERS = {
    "mnist": ("2.98%", "table 3"),
    "cifar10": ("82.8%", "table 1"),
    "faces": ("figure 7", "figure 6"),
    "lsun": ("figure 4", "figure 5"),
}
KILLED = ("mnist", "lsun")  # the recipes killed with -9 inside training (the others only interrupted)


class StopAfterFirstEpoch(Callback):
    """Ctrl-C right after the first epoch's checkpoint: the recipe stops inside its first training stage."""

    def on_epoch_end(self, trainer) -> None:
        raise KeyboardInterrupt


def _located(name: str) -> None:
    for dataset in RECIPES[name].data.values():
        try:
            dataset.locate(SHARED_DATA)
        except DCGANError:
            pytest.skip(f"{dataset.name} is not in {SHARED_DATA}")


_RUNS: dict[str, tuple] = {}  # each recipe's run, made once in a test process (5 to 40 s each)


@pytest.fixture(scope="module", params=PRESENT)
def finished(request, tmp_path_factory):
    """A recipe run at --scale test that was interrupted inside its training, then run again to the end.

    Made once per process, not per switch of the parameter: a pytest-xdist worker that takes tests of another
    recipe in between would otherwise run the recipe again. A test of some recipes only says so with
    ``@pytest.mark.parametrize("finished", [...], indirect=True)``, so the others are not run for it."""
    if request.param not in _RUNS:
        _RUNS[request.param] = _run_interrupted_then_finished(request.param, tmp_path_factory)
    return _RUNS[request.param]


def _run_interrupted_then_finished(name: str, tmp_path_factory) -> tuple:
    _located(name)
    out = tmp_path_factory.mktemp(name) / "results"
    with pytest.raises(
        KeyboardInterrupt,
        match=f"continue with: .* reproduce {name} --scale test --out {out} --data-root {SHARED_DATA}$",
    ):
        reproduce(name, "test", out, SHARED_DATA, progress=False, callbacks=[StopAfterFirstEpoch()], log=lambda _: None)
    interrupted = {folder.name: (folder / DONE).exists() for folder in sorted(out.iterdir()) if folder.is_dir()}
    log: list[str] = []
    page = reproduce(name, "test", out, SHARED_DATA, progress=False, log=log.append)
    return name, out, page, interrupted, log


def _stage_folders(out):
    return sorted(folder for folder in out.iterdir() if folder.is_dir())


def test_interrupted_recipe_continues_to_the_end(finished):
    name, out, _, interrupted, log = finished
    assert interrupted == {"01-data": True, "02-train": False}  # stopped inside training, the data stage done
    assert log[0] == "01-data: done before, skipped"
    folders = _stage_folders(out)
    assert [f.name.split("-", 1)[1] for f in folders] == [
        s.name for s in RECIPES[name].stages(context(name, "test", out, SHARED_DATA)[1])
    ]
    for folder in folders:
        done = json.loads((folder / DONE).read_text())
        assert all((folder / output).exists() for output in done["outputs"])


def test_the_page_sets_results_beside_the_papers(finished):
    name, out, page, _, _ = finished
    html = page.read_text()
    summary = json.loads((out / "results.json").read_text())
    assert summary["complete"] and summary["scale"] == "test"
    assert "Results beside the paper" in html and "data:image/" in html and "Machine" in html
    for number in PAPER_NUMBERS[name]:
        assert number in html
    train = next(s for s in summary["stages"] if s["stage"] == "train")
    assert train["compute"]["steps"] > 0 and train["compute"]["images seen"] > 0 and train["compute"]["seconds"] > 0
    assert "dcgan train --config" in html
    sources = {
        dataset.locate(SHARED_DATA)[0].relative_to(SHARED_DATA).as_posix() for dataset in RECIPES[name].data.values()
    }
    data_rows = json.loads((out / "01-data" / "data.json").read_text())
    assert {row[1] for row in data_rows} <= sources  # the data set, not the cache it was decoded into


def test_markers_and_the_summary_read_back_as_the_same_json(finished):
    """done.json and results.json as typed records: read and written again, the same JSON, keys in order."""
    _, out, _, _, _ = finished
    for folder in _stage_folders(out):
        done = json.loads((folder / DONE).read_text())
        assert json.dumps(Marker.from_dict(done).to_dict()) == json.dumps(done)
    summary = json.loads((out / "results.json").read_text())
    assert json.dumps(Summary.from_dict(summary).to_dict()) == json.dumps(summary)


def test_a_rerun_skips_every_stage(finished):
    name, out, _, _, _ = finished
    before = {f.name: (f / DONE).stat().st_mtime_ns for f in _stage_folders(out)}
    log: list[str] = []
    reproduce(name, "test", out, SHARED_DATA, progress=False, log=log.append)
    assert all(line.endswith("done before, skipped") for line in log[:-1])
    assert {f.name: (f / DONE).stat().st_mtime_ns for f in _stage_folders(out)} == before


def test_a_results_folder_being_written_refuses_a_second_reproduce(finished):
    """Two ``dcgan reproduce`` on one folder would run the same stages into the same files: the second stops at
    once, before it writes anything, the page included."""
    name, out, _, _, _ = finished
    before = (out / "results.json").read_bytes()
    with holding(out, f"dcgan reproduce {name}"), pytest.raises(DCGANError, match=f"is in use: dcgan reproduce {name}"):
        reproduce(name, "test", out, SHARED_DATA, progress=False, log=lambda _: None)
    assert (out / "results.json").read_bytes() == before


def test_a_stage_killed_before_its_marker_runs_again(finished):
    name, out, _, _, _ = finished
    last = _stage_folders(out)[-1]
    (last / DONE).unlink()  # what kill -9 leaves: outputs maybe, no marker
    log: list[str] = []
    reproduce(name, "test", out, SHARED_DATA, progress=False, log=log.append)
    assert next(line for line in log if "skipped" not in line).startswith(last.name)
    assert (last / DONE).exists()


def test_a_running_stage_records_its_seconds_every_heartbeat(tmp_path, monkeypatch):
    """kill -9 loses at most one heartbeat of a stage's compute: the stage appends its seconds so far while it
    works, and once more at the end, also when it is interrupted."""
    monkeypatch.setattr(runner, "HEARTBEAT_SECONDS", 0.01)

    def wait_for_a_heartbeat(folder):
        for _ in range(3000):  # up to 30 s on a busy machine; the heartbeat comes after 0.01 s
            if (folder / SESSIONS).exists():
                return Outcome()
            time.sleep(0.01)
        raise AssertionError("no heartbeat while the stage worked")

    done = run_stage(tmp_path / "a", Stage("a", wait_for_a_heartbeat), log=lambda _: None)
    records = [json.loads(line) for line in (tmp_path / "a" / SESSIONS).read_text().splitlines()]
    assert len(records) >= 2 and len({r["session"] for r in records}) == 1  # heartbeats, then the end
    assert done.compute["seconds"] == records[-1]["seconds"] == max(r["seconds"] for r in records)
    assert {r["machine"] for r in records} == {where_it_runs()}  # the CPU, its torch threads: hours told apart
    assert done.compute["machines"] == {where_it_runs(): done.compute["seconds"]}
    assert where_it_runs().endswith(f", {torch.get_num_threads()} torch thread" + "s" * (torch.get_num_threads() > 1))

    def interrupted(folder):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage(tmp_path / "b", Stage("b", interrupted), log=lambda _: None)
    assert len((tmp_path / "b" / SESSIONS).read_text().splitlines()) == 1 and not (tmp_path / "b" / DONE).exists()


def test_a_stopped_process_does_not_count_its_stopped_time():
    minute = runner.HEARTBEAT_SECONDS
    assert counted_seconds(0.5 * minute, 0.0) == 0.5 * minute  # between heartbeats: all of it
    assert counted_seconds(3 * minute, 6 * minute) == 3 * minute  # a heartbeat delayed by busy threads: all of it
    assert counted_seconds(10 * minute, 2 * minute) == 2 * minute  # stopped for 8 minutes (Ctrl-Z): the CPU's
    assert counted_seconds(10 * minute, 0.1 * minute) == minute  # at least the heartbeat before the stop


def test_each_session_counts_once_at_its_last_record(tmp_path):
    lines = [
        '{"seconds": 5.0}',  # folders of earlier versions: one line per session
        '{"seconds": 7.0}',
        '{"session": "a", "seconds": 60.0}',
        '{"session": "b", "seconds": 60.0}',
        '{"session": "a", "seconds": 120.0}',  # a's later heartbeat
        '{"session": "b", "sec',  # cut short by kill -9
    ]
    (tmp_path / SESSIONS).write_text("\n".join(lines))
    assert session_seconds(tmp_path) == 5.0 + 7.0 + 120.0 + 60.0
    assert stage_compute(tmp_path) == {"seconds": 192.0}  # no session said where it ran: nothing to tell apart
    lines += ['{"session": "c", "seconds": 60.0, "machine": "X, 1 torch thread"}',
              '{"session": "c", "seconds": 90.0, "machine": "X, 1 torch thread"}',
              '{"session": "d", "seconds": 30.0, "machine": "X, 2 torch threads"}']  # fmt: skip
    (tmp_path / SESSIONS).write_text("\n".join(lines))
    assert stage_compute(tmp_path) == {
        "seconds": 312.0,
        "machines": {"": 192.0, "X, 1 torch thread": 90.0, "X, 2 torch threads": 30.0},
    }


def test_the_page_says_where_the_hours_ran():
    """A run resumed with other threads, or on another CPU, mixes its hours: the page splits them, by threads alone
    on the page's own CPU (its machine line names it) and by the whole machine elsewhere; sessions of older versions
    are "not recorded", and pages with none say nothing more."""
    machine = {"CPU": "X, 2 logical cores", "GPU": "none", "torch": "2", "torch threads": "2"}
    stages = [
        StageEntry("data", "", "01-data", True, {"seconds": 360.0}),  # from before sessions said where
        StageEntry("train", "", "02-train", True, {"seconds": 3 * 3600.0, "machines": {
            "": 3600.0, "X, 2 logical cores, 1 torch thread": 3600.0, "Y, 8 logical cores, 2 torch threads": 3600.0}}),
        StageEntry("probe", "", "03-probe", False, {"seconds": 1800.0, "machines": {
            "X, 2 logical cores, 1 torch thread": 1800.0}}),
    ]  # fmt: skip
    assert hours_by_machine(stages, machine) == (
        "Hours by where they ran: not recorded 1.10; 1 torch thread 1.50; Y, 8 logical cores, 2 torch threads 1.00."
    )
    assert hours_by_machine(stages[:1], machine) == ""


@pytest.mark.parametrize("finished", ["mnist"], indirect=True)
def test_resumed_training_equals_straight_training(finished, tmp_path):
    """The training stage's options.json is a config file for dcgan train, and the run interrupted after its
    first epoch and resumed ends with exactly the weights of one trained straight through."""
    _, out, _, _, _ = finished
    options = out / "02-train" / "options.json"
    assert main(["train", "--config", str(options), "--out", str(tmp_path / "straight"), "--no-progress"]) == 0
    resumed = load_file(out / "02-train" / "run" / "checkpoints" / "last.safetensors")
    straight = load_file(tmp_path / "straight" / "checkpoints" / "last.safetensors")
    assert all(torch.equal(resumed[k], straight[k]) for k in resumed if k.startswith("G."))


KILL_MID_EPOCH = """
import os, signal, sys
from dcgan.reproduce import reproduce
from dcgan.training import Callback

class KillNine(Callback):
    def on_step(self, trainer):
        if trainer.step == 12:  # inside epoch 2 of 5: the epoch-1 checkpoint is the last one
            os.kill(os.getpid(), signal.SIGKILL)

reproduce(sys.argv[1], "test", sys.argv[2], sys.argv[3], progress=False, callbacks=[KillNine()])
"""


@pytest.mark.parametrize("finished", KILLED, indirect=True)
def test_kill_9_inside_training_then_the_same_result(finished, tmp_path):
    """kill -9 in the middle of an epoch: the rerun continues from the last checkpoint and ends with exactly
    the model of the recipe interrupted elsewhere (the fixture's), to the bit."""
    name, out, _, _, _ = finished
    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_EPOCH, name, str(tmp_path / "results"), str(SHARED_DATA)],
        # as many threads as this process, which finishes the recipe: fp32 sums depend on the thread count
        env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": str(torch.get_num_threads())},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    train = tmp_path / "results" / "02-train"
    assert not (train / DONE).exists() and (train / "run" / "checkpoints" / "last.safetensors").exists()
    reproduce(name, "test", tmp_path / "results", SHARED_DATA, progress=False, log=lambda _: None)
    stages = RECIPES[name].stages(context(name, "test", out, SHARED_DATA)[1])
    trained = [f"{i:02d}-{stage.name}" for i, stage in enumerate(stages, 1) if stage.trains]
    assert trained[0] == "02-train"
    for stage in trained:
        ours = load_file(tmp_path / "results" / stage / "run" / "checkpoints" / "last.safetensors")
        theirs = load_file(out / stage / "run" / "checkpoints" / "last.safetensors")
        assert all(torch.equal(ours[k], theirs[k]) for k in ours if k.startswith(("G.", "D.")))


@pytest.mark.parametrize("finished", ["faces"], indirect=True)
def test_experiments_measure_with_a_classifier_that_finds_exemplars(finished, monkeypatch):
    """A tiny model's samples rarely pass the classifier or look aside; with a classifier that scores them at
    random and a yaw regressor that reads them at random, the arithmetic, direction, turn and forgetting stages go
    all the way to their numbers."""
    name, out, _, _, _ = finished
    real = stage_context.load_classifier(out / "03-classifier" / "classifier.safetensors")

    class RandomScores:
        names, spec = real.names, real.spec

        def predict(self, images):
            return torch.rand(len(images), len(self.names), generator=torch.Generator().manual_seed(len(images)))

    class RandomYaw(YawRegressor):
        def predict(self, images):
            return torch.randn(len(images), generator=torch.Generator().manual_seed(len(images))) * 0.3

    def random_yaw(data, *args, **kwargs):
        stand_in = RandomYaw(data.resolution, data.channels, width=4)
        stand_in.report = train_yaw_regressor(data, *args, **kwargs).report  # the real one's held-out error
        return stand_in

    monkeypatch.setattr(stage_context, "load_classifier", lambda path: RandomScores())
    monkeypatch.setattr(latent_stages, "train_yaw_regressor", random_yaw)
    for stage in ("05-arithmetic", "06-direction", "07-turn", "08-forget"):
        (out / stage / DONE).unlink()
    reproduce(name, "test", out, SHARED_DATA, progress=False, log=lambda _: None)
    arithmetic = json.loads((out / "05-arithmetic" / DONE).read_text())
    assert [r["ours"] != "no exemplars" for r in arithmetic["results"]] == [True, True]
    assert {"smile.png", "glasses.png"} <= set(arithmetic["outputs"])
    assert "direction.png" in json.loads((out / "06-direction" / DONE).read_text())["outputs"]
    turn = json.loads((out / "07-turn" / DONE).read_text())
    assert {"turn.png", "turn.json", "yaw.safetensors"} <= set(turn["outputs"])
    assert turn["tables"][0]["title"] == "yaw regressor, held-out real faces"
    measured = json.loads((out / "07-turn" / "turn.json").read_text())
    assert [row["strength"] for row in measured["table"]] == ["-1", "-0.5", "0", "0.5", "1"]
    assert measured["random_directions"] == 2 and len(measured["exemplar_yaw"]["right"]) == 3
    (result,) = turn["results"]
    assert result["paper_ref"] == "figure 8" and re.fullmatch(
        r"-?\d+\.\d\d(, not monotone)? \(\d+\.\d\d\)", result["ours"]
    )


@pytest.mark.parametrize("finished", ["faces"], indirect=True)
def test_the_faces_classifier_weighs_each_attributes_rare_side_up(finished):
    """--balance, chosen on validation faces at cpu scale, is what the classifier stage trains with, and says so."""
    name, out, _, _, _ = finished
    assert (
        RECIPES[name].settings_for("cpu").classifier_balance and RECIPES[name].settings_for("test").classifier_balance
    )
    clf = stage_context.load_classifier(out / "03-classifier" / "classifier.safetensors")
    assert clf.report["training"]["balance"] is True and clf.report["split"] == "held out"
    (table,) = json.loads((out / "03-classifier" / DONE).read_text())["tables"]
    assert table["title"] == "attribute classifier, held-out real images, rare sides weighed up"
    assert [row[0] for row in table["rows"]] == ["Smiling", "Eyeglasses", "Male"]


@pytest.mark.parametrize("finished", ["faces"], indirect=True)
def test_the_turn_stage_measures_the_yaw_regressor_on_real_faces(finished):
    """At --scale test the tiny G's samples may all look ahead (no exemplars), but the regressor is learned from the
    real faces' landmarks and its held-out error is on the page either way."""
    _, out, _, _, _ = finished
    done = json.loads((out / "07-turn" / DONE).read_text())
    table = done["tables"][0]
    assert table["columns"] == ["faces", "mae", "correlation", "real_yaw_std", "mae_of_the_mean"]
    faces, mae, correlation, spread, of_the_mean = map(float, table["rows"][0])
    assert faces == 64 and 0.1 < spread < 0.3 and 0 < mae < 2 * of_the_mean and -1 <= correlation <= 1
    regressor = load_regressor(out / "07-turn" / "yaw.safetensors")
    assert regressor.report["held_out"]["mae"] == pytest.approx(mae, abs=1e-3)
    (result,) = done["results"]
    assert result["paper_ref"] == "figure 8" and result["ours"]


@pytest.mark.parametrize("finished", ["lsun"], indirect=True)
def test_windows_boxed_by_hand_add_the_forget_stage_and_a_blind_count_is_unblinded(finished, tmp_path, monkeypatch):
    """Where a boxes file ships for the scale, the lsun recipe adds figure 6's stage: the boxed maps are dropped,
    the change inside and outside the boxes measured against random maps, and a count made by eye on the shuffled
    sheet is read back through the stage's key."""
    name, out, _, _, _ = finished
    folder = shutil.copytree(out, tmp_path / "results")
    drawn = tmp_path / "configs"
    drawn.mkdir()
    (drawn / "windows.json").write_text(
        json.dumps({"object": "windows", "boxes": {str(c): [[4, 4, 20, 20]] for c in range(12)}})
    )
    shipped = stage_context.config_file
    monkeypatch.setattr(
        stage_context,
        "config_file",
        lambda r, s, stage: drawn / f"{stage}.json" if stage.startswith("windows") else shipped(r, s, stage),
    )
    reproduce(name, "test", folder, SHARED_DATA, progress=False, log=lambda _: None)
    marker = json.loads((folder / "07-forget" / DONE).read_text())
    assert marker["notes"] == [
        "no count of windows by eye was made for this scale: count-sheet.png is the sheet to count"
    ]
    change = json.loads((folder / "07-forget" / "forget.json").read_text())["change"]
    assert set(change) == {"object maps", "random maps"} and all(v["inside"] > 0 for v in change.values())
    (table,) = [t for t in marker["tables"] if t["title"].startswith("where the picture changes")]
    assert table["rows"][0][1] == table["rows"][1][1]  # as many random maps as object maps, shown alike
    (result,) = [r for r in marker["results"] if "pixel change" in r["what"]]
    ours, control = change["object maps"], change["random maps"]
    assert result["ours"] == (
        f"{ours['inside'] / control['inside']:.2f}x (windows maps {ours['ratio']:.2f}, random maps {control['ratio']:.2f})"
    )
    key = json.loads((folder / "07-forget" / "forget.json").read_text())["count_key"]
    assert len(key) == 3 * SETTINGS["test"].blind
    seen = [i for i, (_, version) in enumerate(key) if version == "as drawn"][:3]
    (drawn / "windows-counts.json").write_text(json.dumps({"seen": seen}))
    (folder / "07-forget" / DONE).unlink()
    reproduce(name, "test", folder, SHARED_DATA, progress=False, log=lambda _: None)
    counted = next(t for t in json.loads((folder / "07-forget" / DONE).read_text())["tables"] if "by eye" in t["title"])
    assert counted["rows"] == [[f"{3 / SETTINGS['test'].blind:.2f}", "0.00", "0.00"]]


def test_gather_writes_markdown_and_small_figures(finished, tmp_path):
    name, out, _, _, _ = finished
    page = gather([out], tmp_path / "results.md", scale="cpu", data_root=SHARED_DATA)
    text = page.read_text()
    assert f"## {name}:" in text and "Not yet run at --scale cpu" in text  # the other recipes
    assert "Machine: " in text and re.search(r"Hours by where they ran: \d+ torch threads? \d+\.\d\d\.", text)
    assert f"reproduce {name} --scale test --out {out}`" in text  # a folder not of the default name: where it is
    assert PAPER_NUMBERS[name][0] in text
    lines = text.splitlines()
    assert all(lines[i + 1] == "" for i, line in enumerate(lines) if line.startswith("Note: "))  # own paragraphs
    stages = json.loads((out / "results.json").read_text())["stages"]
    targets = [r for s in stages if s["done"] for r in s["results"] if r["target"]]
    assert ("## The targets at a glance" in text) == bool(targets)  # every target of the page in one table
    assert all(f"| {name} | {r['what']} | {r['paper']} | {r['ours']} | {r['target']} |" in text for r in targets)
    assert ("reproduce.md#what-a-missed-target-needs" in text) == any(r["met"] is False for r in targets)
    images = list((tmp_path / "results" / name).iterdir())
    assert images and all(p.stat().st_size < 300_000 for p in images)
    assert main(["results", str(out), "-o", str(tmp_path / "cli.md")]) == 0
    assert f"## {name}:" in (tmp_path / "cli.md").read_text()


def test_a_gathered_section_is_gathered_again_from_its_figures_once_the_run_folder_is_gone(finished, tmp_path, capsys):
    """The figures' folder holds the section's results.json: gathering from it alone (into the same page or
    another) writes the same section, and copies the small figures byte for byte, never encoding them again."""
    name, out, _, _, _ = finished
    moved = tmp_path / "run-folder-elsewhere"
    shutil.copytree(out, moved)  # gathered from a copy, then the copy goes, as a run folder on another machine
    first = gather([moved], tmp_path / "docs" / "results.md", scale="cpu", data_root=SHARED_DATA).read_text()
    figures = tmp_path / "docs" / "results" / name
    before = {f.name: f.read_bytes() for f in figures.iterdir()}
    assert json.loads((figures / "results.json").read_text())["archived"] is True
    shutil.rmtree(moved)
    again = gather([figures], tmp_path / "docs" / "results.md", scale="cpu", data_root=SHARED_DATA).read_text()
    assert again == first and {f.name: f.read_bytes() for f in figures.iterdir()} == before
    elsewhere = gather([figures], tmp_path / "other" / "results.md", scale="cpu", data_root=SHARED_DATA).read_text()
    assert elsewhere == first.replace(str(tmp_path / "docs"), str(tmp_path / "other"))  # only the page's own path
    copied = tmp_path / "other" / "results" / name
    assert {f.name: f.read_bytes() for f in copied.iterdir()} == before
    assert main(["results", str(tmp_path / "no-such-folder"), "-o", str(tmp_path / "x.md")]) == 2
    assert "holds no readable results.json" in capsys.readouterr().err


def test_a_lever_run_gets_its_own_section_after_the_recipes_own(finished, tmp_path):
    """A recipe run with levers, gathered beside its own run: a section after it under its flags, its figures in
    a folder of their own, its targets under its flags in the table at a glance; gathered again from the two
    figure folders, the page is the same."""
    name, out, _, _, _ = finished
    lever = shutil.copytree(out, tmp_path / "lever")  # the same folder, as if run with --g-width 16
    held = json.loads((lever / "results.json").read_text())
    (lever / "results.json").write_text(json.dumps(held | {"levers": {"g_width": 16}}))
    first = gather([lever, out], tmp_path / "docs" / "results.md", scale="test", data_root=SHARED_DATA).read_text()
    own, other = f"## {name}: {RECIPES[name].title}", f"## {name} --g-width 16: {RECIPES[name].title}"
    assert first.count(own) == first.count(other) == 1 and first.index(own) < first.index(other)
    figures = tmp_path / "docs" / "results"
    assert sorted(f.name for f in figures.iterdir()) == [name, f"{name}-g-width-16"]
    assert f"](results/{name}-g-width-16/" in first[first.index(other) :]
    targets = [r for r in Summary.from_dict(held).results() if r.target]
    for label in (name, f"{name} --g-width 16"):
        assert all(f"| {label} | {r.what} | {r.paper} | {r.ours} |" in first for r in targets)
    archives = [figures / name, figures / f"{name}-g-width-16"]
    again = gather(archives, tmp_path / "docs" / "results.md", scale="test", data_root=SHARED_DATA).read_text()
    assert again == first
    own_files = {f.name: f.read_bytes() for f in (figures / name).iterdir()}
    alone = gather(archives[1:], tmp_path / "docs" / "results.md", scale="test", data_root=SHARED_DATA).read_text()
    assert other in alone and own not in alone  # in the recipe's place, under its flags
    assert {f.name: f.read_bytes() for f in (figures / name).iterdir()} == own_files  # the own section's archive
    elsewhere = gather(archives, tmp_path / "cpu.md", scale="cpu", data_root=SHARED_DATA).read_text()
    assert own in elsewhere and other in elsewhere  # at another scale than asked: both, as at their own


def test_gather_links_the_model_shipped_beside_the_figures(finished, tmp_path):
    """A recipe's G exported beside its figures is named on the page: which G, its steps, the command that
    samples it, and the terms of the data it learned from."""
    name, out, _, _, _ = finished
    model = tmp_path / "results" / name / "generator.safetensors"
    model.parent.mkdir(parents=True)
    run = out / "02-train" / "run"
    assert (
        main(["export", "--checkpoint", str(run), "--format", "safetensors", "--dtype", "fp16", "-o", str(model)]) == 0
    )
    text = gather([out], tmp_path / "results.md", scale="cpu", data_root=SHARED_DATA).read_text()
    line = next(line for line in text.splitlines() if line.startswith("**The model**"))
    step = load_checkpoint(run).meta["step"]
    assert f"fp16, {step:,} steps" in line and f"dcgan sample --checkpoint {model} -n 64" in line
    trained_on, *others = RECIPES[name].data.values()  # lsun also reads CIFAR-10, for its quality features
    assert trained_on.terms in line and not any(d.terms in line for d in others)


def test_the_gathered_command_leaves_out_a_results_folder_of_the_default_name():
    from dcgan.reproduce.page import _shown_command

    info = Summary(
        "mnist", "MNIST", "cpu", "dcgan reproduce mnist --scale cpu --out /runs/mnist-cpu", 2.9, True, [], {}
    )
    assert _shown_command(info) == "dcgan reproduce mnist --scale cpu"
    mine = "dcgan reproduce mnist --scale cpu --out /runs/mine"
    assert _shown_command(dataclasses.replace(info, command=mine)) == mine


def test_gather_says_which_recipes_cannot_run_here_for_lack_of_data(tmp_path):
    text = gather([], tmp_path / "results.md", data_root=tmp_path / "no-data").read_text()
    assert text.count("Not run here: its data is not on this machine") == len(RECIPES)
    assert "SVHN is not in DATA_ROOT" in text and "DATA_ROOT/svhn/train_32x32.mat" in text  # what to put where
    assert str(tmp_path / "no-data") not in text  # the page is read on other machines: no data path of this one


def test_a_folder_holds_one_recipe_at_one_scale(finished):
    name, out, _, _, _ = finished
    with pytest.raises(DCGANError, match=f"holds the {name} recipe at scale test"):
        reproduce(name, "cpu", out, SHARED_DATA, progress=False)


def test_missing_data_is_one_clear_message(tmp_path, capsys):
    with pytest.raises(DCGANError) as caught:
        reproduce("svhn", "test", tmp_path / "out", tmp_path)
    assert "svhn/train_32x32.mat" in caught.value.problem and str(tmp_path / "svhn") in caught.value.fix
    assert main(["reproduce", "lsun", "--scale", "test", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "LSUN bedrooms is not in" in err and "bedroom_train_lmdb" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_ships_its_config_files_and_states_its_time(name):
    r = RECIPES[name]
    assert estimate_hours(r, "cpu") < 8
    for scale in SCALES:
        folder = config_file(name, scale, "train").parent
        files = sorted(folder.glob("train*.json"))
        assert "train" in [f.stem for f in files]
        for f in files:
            read_options(f)  # every key a TrainConfig field, every value of its type
        for f in set(folder.glob("*.json")) - set(files):  # a stage's hand-made data: boxes, and counts by eye
            if f.stem.endswith("-counts"):
                seen = json.loads(f.read_text())["seen"]
                assert all(0 <= i < 3 * SETTINGS[scale].blind for i in seen)  # the count sheet's positions
            else:
                assert load_boxes(f, SETTINGS[scale].sheet, 64)  # the lsun sheet: 64x64 bedrooms


def test_plan_lists_the_stages(tmp_path, capsys):
    _located("mnist")
    assert main(["reproduce", "mnist", "--plan", "--out", str(tmp_path), "--data-root", str(SHARED_DATA)]) == 0
    out = capsys.readouterr().out
    assert "about" in out and "01-data" in out and "04-nn-protocol" in out and "train-conditional.json" in out


@pytest.mark.parametrize("finished", ["mnist"], indirect=True)
def test_plan_shows_a_begun_training_stage_at_its_checkpointed_step_with_the_hours_left(finished, tmp_path, capsys):
    name, out, _, _, _ = finished
    copy = tmp_path / "results"
    shutil.copytree(out, copy)
    (copy / "02-train" / DONE).unlink()  # as if the recipe were stopped inside this training stage
    step = json.loads((copy / "02-train" / "run" / "checkpoints" / "last.json").read_text())["step"]
    argv = ["reproduce", name, "--scale", "test", "--plan", "--out", str(copy), "--data-root", str(SHARED_DATA)]
    assert main(argv) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line[:2].isdigit()}
    assert lines["01-data"].split()[1] == "done"
    assert lines["02-train"].split()[1] == "begun" and f"at step {step:,} of " in lines["02-train"]
    assert "h so far]" in lines["02-train"] and " h left at the estimate's pace, " in lines["02-train"]
    assert " h at this run's own so far; config " in lines["02-train"]


def test_the_picks_hours_are_its_measured_scoring_of_each_kept_checkpoint_scaled_by_features_and_images():
    """The plan prices --pick-by-validation from the one measurement it rests on (a D of width 256 scored on
    CIFAR-10's 50,000 images in 583 s on the reference CPU kind), once per checkpoint the training keeps."""
    from dcgan.reproduce.plan import pick_hours

    cifar10 = RECIPES["cifar10"]
    assert pick_hours(cifar10, "cpu", {"d_width": 256}) == (pytest.approx(6 * 583 / 3600), 6)  # 30 epochs, every 5
    assert pick_hours(cifar10, "cpu")[0] == pytest.approx(6 * 583 / 3600 / 2)  # D 128: half the features
    assert pick_hours(cifar10, "test")[1] == 1  # 1 epoch: only the last
    wide = estimate_hours(cifar10, "cpu", {"d_width": 256})
    assert estimate_hours(cifar10, "cpu", {"d_width": 256}, pick=True) == pytest.approx(wide + 6 * 583 / 3600)


def _write_svhn(folder) -> None:
    """SVHN's .mat layout; each digit a different brightness, so the classes differ."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for split, n in (("train", 500), ("test", 100)):
        y = rng.integers(1, 11, n)  # 10 stands for the digit 0, as in the official files
        x = (rng.integers(0, 40, (32, 32, 3, n)) + 20 * y).astype(np.uint8)
        scipy.io.savemat(folder / f"{split}_32x32.mat", {"X": x, "y": y[:, None].astype(np.uint8)})


def test_svhn_runs_where_its_data_is(tmp_path):
    root = tmp_path / "data"
    _write_svhn(root / "svhn")
    page = reproduce("svhn", "test", tmp_path / "svhn", root, progress=False, log=lambda _: None)
    assert json.loads((tmp_path / "svhn" / "results.json").read_text())["complete"]
    assert "22.48% error" in page.read_text()


def test_a_training_stages_generator_file_names_its_recipe(finished, tmp_path):
    name, out, _, _, _ = finished
    trained = [folder for folder in _stage_folders(out) if (folder / "run").is_dir()]
    assert trained
    for folder in trained:
        path = tmp_path / f"{folder.name}.safetensors"
        assert main(["export", "--checkpoint", str(folder / "run"), "--format", "safetensors", "-o", str(path)]) == 0
        assert load_checkpoint(path).meta["recipe"] == {
            "recipe": name,
            "scale": "test",
            "stage": folder.name.partition("-")[2],
        }


@pytest.mark.parametrize("finished", ["mnist"], indirect=True)
def test_widths_chosen_on_the_command_line_train_every_model_and_stay_with_the_folder(finished, tmp_path, capsys):
    """--g-width/--d-width: a lever to try without editing a config file. Every training stage trains at the
    chosen widths, the folder and the page say so, the plan's hours scale with the work, and the folder refuses
    to continue with other widths (its checkpoints are of the first)."""
    name, out, *_ = finished
    r = RECIPES[name]
    wider = {"d_width": 2 * read_options(config_file(name, "test", "train"))["d_width"]}
    assert estimate_hours(r, "test", wider) > estimate_hours(r, "test")
    faces = RECIPES["faces"]  # the small preset's widths, 64 and 64: the same hours
    assert estimate_hours(faces, "cpu", {"g_width": 64, "d_width": 64}) == pytest.approx(estimate_hours(faces, "cpu"))
    mine = tmp_path / "wider"
    argv = ["reproduce", name, "--scale", "test", "--d-width", str(wider["d_width"]), "--out", str(mine)]
    assert main([*argv, "--data-root", str(SHARED_DATA), "--no-progress"]) == 0
    for stage in ("02-train", "03-train-conditional"):
        assert load_checkpoint(mine / stage / "run").spec.d_width == wider["d_width"]
        assert read_options(mine / stage / "options.json")["d_width"] == wider["d_width"]
    summary = json.loads((mine / "results.json").read_text())
    assert summary["levers"] == wider and f"--scale test --d-width {wider['d_width']} --out" in summary["command"]
    capsys.readouterr()
    assert main(["reproduce", name, "--scale", "test", "--out", str(mine), "--data-root", str(SHARED_DATA)]) == 2
    err = capsys.readouterr().err
    assert f"holds the {name} recipe with --d-width {wider['d_width']}, not none of those options" in err
    assert "Traceback" not in err and err.count("\n") == 2
    with pytest.raises(DCGANError, match="with its own settings, not --g-width 32"):
        reproduce(name, "test", out, SHARED_DATA, progress=False, levers=Levers(g_width=32))
    assert main(["reproduce", name, "--scale", "test", "--g-width", "0", "--out", str(tmp_path / "no")]) == 2
    assert "--g-width 0 is not a width" in capsys.readouterr().err
    assert main(["reproduce", name, "--pick-by-validation", "--out", str(tmp_path / "no")]) == 2
    assert f"the {name} recipe probes no D features" in capsys.readouterr().err


@pytest.mark.parametrize("finished", ["cifar10", "faces"], indirect=True)
def test_a_targets_number_carries_its_spread_and_says_what_the_spread_is(finished):
    """A target met or missed by less than its own noise says little: the probe's accuracy comes with its standard
    error on the test images, the forgetting control with the range of its random draws."""
    name, out, _, _, _ = finished
    summary = json.loads((out / "results.json").read_text())
    results = [r for stage in summary["stages"] for r in stage["results"] if r["target"]]
    if name == "cifar10":
        (result,) = results
        probe = next(f for f in out.iterdir() if f.name.endswith("-linear-probe"))
        tested = json.loads((probe / "linear-probe.json").read_text())["test"]["images"]
        assert result["what"].endswith(f"(+- its standard error on {tested:,} test images)")
        accuracy, error = map(float, re.fullmatch(r"(\d+\.\d\d)% \+- (\d+\.\d\d)", result["ours"]).groups())
        assert error == pytest.approx(100 * math.sqrt(accuracy / 100 * (1 - accuracy / 100) / tested), abs=0.006)
    else:
        (forgetting,) = [r for r in results if r["what"].startswith("forgetting")]
        assert "(the mean of 5 random draws; their range)" in forgetting["what"]
        folder = next(f for f in out.iterdir() if f.name.endswith("-forget"))
        rates = json.loads((folder / "forget.json").read_text())["detection"]["Smiling"]
        drops = [
            rates["before"] - r for r in (rates["after"], rates["after_random_maps"], *rates["after_random_maps_each"])
        ]
        drop, mean, *each = drops
        ratio = f"{drop / mean:.2f}x" if mean > 0 else "random maps drop none"
        assert forgetting["ours"] == f"{ratio} ({drop:.3f} / {mean:.3f}; {min(each):.3f} to {max(each):.3f})"


@pytest.mark.parametrize("finished", ["cifar10"], indirect=True)
def test_pick_by_validation_probes_the_checkpoint_chosen_on_validation_and_the_page_says_so(finished, tmp_path, capsys):
    """--pick-by-validation: the probe stage scores each checkpoint training kept on validation and probes the
    best, keeping each score in its folder as it is measured; the stage's note names it among every score, the
    page's command carries the flag, and the plan of a stage stopped midway says what the pick has scored."""
    name, out, _, _, _ = finished
    folder = shutil.copytree(out, tmp_path / "results")
    summary = json.loads((folder / "results.json").read_text())
    (folder / "results.json").write_text(json.dumps(summary | {"levers": {"pick_by_validation": True}}))
    probe = next(f for f in folder.iterdir() if f.name.endswith("-linear-probe"))
    (probe / DONE).unlink()  # as if the folder had been run with the flag from the start
    reproduce(name, "test", folder, SHARED_DATA, progress=False, levers=Levers(pick_by_validation=True), log=print)
    last = folder / "02-train" / "run" / "checkpoints" / "last.safetensors"  # the test scale keeps only the last
    probed = json.loads((probe / "linear-probe.json").read_text())
    assert list(probed["picked_by_validation"]) == [str(last)] and probed["checkpoint"] == str(last)
    (kept,) = json.loads((probe / "pick-scores.json").read_text())["scored"].values()  # what a stopped pick reuses
    assert kept == {"checkpoint": str(last), "validation_accuracy": probed["picked_by_validation"][str(last)]}
    (note,) = json.loads((probe / DONE).read_text())["notes"]
    assert "--pick-by-validation" in note and note.endswith(
        f"last of last {probed['picked_by_validation'][str(last)] * 100:.2f}%"
    )
    assert "--scale test --pick-by-validation --out" in json.loads((folder / "results.json").read_text())["command"]
    (probe / DONE).unlink()  # as if stopped after the pick, before the probe
    capsys.readouterr()
    argv = ["reproduce", name, "--scale", "test", "--pick-by-validation", "--plan", "--out", str(folder)]
    assert main([*argv, "--data-root", str(SHARED_DATA)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert re.search(r", of which \d+\.\d h the pick's scoring of 1 kept checkpoint$", printed[0])  # test: the last
    (line,) = [line for line in printed if line.startswith(probe.name)]
    score = probed["picked_by_validation"][str(last)]
    assert line.split()[1] == "begun" and line.endswith(
        f"(the pick has scored 1 checkpoint on validation, best last {score * 100:.2f}%)"
    )
