"""The typed records of a results folder and of a recipe's settings, without running a recipe."""

import dataclasses
import json

import pytest

from dcgan.experiments.tables import Table
from dcgan.reproduce import RECIPES, SCALES
from dcgan.reproduce.records import Outcome, StageEntry
from dcgan.reproduce.runner import DONE, Stage, read_done, run_stage
from dcgan.reproduce.settings import SETTINGS, RecipeSettings


def test_a_stages_records_are_written_as_the_page_has_always_read_them(tmp_path):
    def work(folder):
        (folder / "a.png").write_bytes(b"")
        outcome = Outcome(compute={"steps": 3})
        outcome.figure("a.png", "samples", "figure 2")
        outcome.table("errors", "table 3", Table(["model", "error"], [["ours", "5.07%"]]))
        outcome.result("ours", "table 3", "2.98%", "5.07%", "at most 5%", False)
        outcome.result("real", "table 3", "3.1%", "3.00%")
        outcome.notes.append("a note")
        return outcome

    marker = run_stage(tmp_path / "s", Stage("s", work, "about it"), log=lambda _: None)
    done = json.loads((tmp_path / "s" / DONE).read_text())
    assert list(done) == ["stage", "about", "finished", "outputs", "figures", "tables", "results", "compute", "notes"]
    assert done["outputs"] == ["a.png"] and done["notes"] == ["a note"] and done["compute"]["steps"] == 3
    assert done["figures"] == [{"file": "a.png", "caption": "samples", "paper": "figure 2"}]
    assert done["tables"] == [{"title": "errors", "paper": "table 3", "columns": ["model", "error"],
                               "rows": [["ours", "5.07%"]]}]  # fmt: skip
    assert done["results"] == [
        {
            "what": "ours",
            "paper_ref": "table 3",
            "paper": "2.98%",
            "ours": "5.07%",
            "target": "at most 5%",
            "met": False,
        },
        {"what": "real", "paper_ref": "table 3", "paper": "3.1%", "ours": "3.00%", "target": "", "met": None},
    ]
    assert read_done(tmp_path / "s") == marker and marker.tables[0].heading() == "errors (paper: table 3)"
    (tmp_path / "s" / "a.png").unlink()  # an output lost since: the stage is not done
    assert read_done(tmp_path / "s") is None


def test_a_stage_not_done_is_entered_with_its_seconds_only():
    entry = StageEntry("train", "train it", "02-train", False, {"seconds": 12.5})
    assert entry.to_dict() == {"stage": "train", "about": "train it", "folder": "02-train", "done": False,
                               "compute": {"seconds": 12.5}}  # fmt: skip
    assert StageEntry.from_dict(entry.to_dict()) == entry


def test_every_scale_has_its_settings_and_recipes_override_single_fields():
    assert set(SETTINGS) == set(SCALES) and all(isinstance(s, RecipeSettings) for s in SETTINGS.values())
    test, cpu = SETTINGS["test"], SETTINGS["cpu"]
    assert test.nn_sizes == (100,) and cpu.nn_sizes == (1000, 10000, 50000) and SETTINGS["paper"].boxed == 150
    assert cpu.labels_per_class is None and cpu.forget_most is None  # None: the protocol's own, every map
    assert RECIPES["cifar10"].settings_for("test").validation_size == 100
    assert RECIPES["svhn"].settings_for("test") == dataclasses.replace(test, validation_size=200)
    assert RECIPES["lsun"].settings_for("cpu") == dataclasses.replace(cpu, dedup_radius=10)
    assert RECIPES["faces"].settings_for("cpu") == cpu and cpu.dedup_radius is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        test.pool = 1
    misspelt = dataclasses.replace(RECIPES["svhn"], settings={"test": {"validation_sise": 200}})
    with pytest.raises(TypeError, match="validation_sise"):
        misspelt.settings_for("test")
