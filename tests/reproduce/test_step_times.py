"""The step-time table behind the recipes' stated hours: every shipped config is in it, lookups scale as documented."""

import pytest

from dcgan.cli import main
from dcgan.errors import DCGANError
from dcgan.reproduce import RECIPES, SCALES
from dcgan.reproduce.plan import training_stages
from dcgan.reproduce.step_times import Model, merge_kinds, read_table, reference_machine, step_seconds, step_work

KIND = "a CPU"


def _table(rows: list[dict], kind: str = KIND) -> dict:
    entry = {"measured_by": "a command", "rows": [{"precision": "fp32", "threads": 2, **row} for row in rows]}
    return {"about": "", "reference": {"kind": kind, "threads": 2, "precision": "fp32"}, "kinds": {kind: entry}}


def _row(resolution: int, seconds: float, **model) -> dict:
    return {**Model.of({"resolution": resolution, **model}).to_dict(), "seconds": seconds}


def test_every_recipe_config_and_lever_is_in_the_table_at_its_own_resolution():
    table = read_table()
    reference = table["reference"]
    rows = table["kinds"][reference["kind"]]["rows"]
    listed = {Model.from_row(r) for r in rows if (r["threads"], r["precision"]) == (2, reference["precision"])}
    for name, r in RECIPES.items():
        for scale in SCALES:
            for stage, options in training_stages(r, scale).items():
                assert Model.of(options) in listed, f"{name} {scale} {stage}: measure it with benchmarks/recipe_hours"
        for widths in r.lever_widths:  # at --scale cpu, where its section of the results page was run
            for stage, options in training_stages(r, "cpu", widths).items():
                assert Model.of(options) in listed, f"{name} {stage} {widths}: measure it"


def test_the_stated_hours_name_the_kind_threads_and_precision_they_are_for(capsys):
    assert reference_machine(_table([], kind="an AVX2 CPU")) == "an AVX2 CPU, 2 threads, fp32"
    assert main(["reproduce", "mnist", "--plan", "--out", "unused"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(f" h on {reference_machine()}")


def test_a_preset_is_its_widths_and_the_defaults_are_the_small_preset():
    assert Model.of({"preset": "paper"}) == Model.of({"g_width": 128, "d_width": 128})
    default = Model.of({})
    assert (default.resolution, default.channels, default.g_width, default.nz, default.augment) == (
        64,
        3,
        64,
        100,
        "none",
    )


def test_a_measured_model_is_read_as_measured_and_scaled_by_batch():
    table = _table([_row(32, 0.5), _row(64, 3.0), _row(64, 4.0, conditional=True), _row(64, 9.0, preset="paper")])
    assert step_seconds({"resolution": 64}, table) == 3.0
    assert step_seconds({"resolution": 64, "conditional": True}, table) == 4.0
    assert step_seconds({"resolution": 64, "preset": "paper", "batch_size": 64}, table) == 4.5
    assert step_seconds({"resolution": 32}, table) == 0.5


def test_other_resolutions_scale_by_pixels_from_the_nearest_measured_one():
    table = _table([_row(32, 0.5), _row(64, 3.0)])
    assert step_seconds({"resolution": 128}, table) == pytest.approx(12.0)  # from 64, not from 32
    assert step_seconds({"resolution": 256}, table) == pytest.approx(48.0)
    assert step_seconds({"resolution": 16}, table) == pytest.approx(0.125)  # from 32
    only_64 = _table([_row(64, 3.0)])
    assert step_seconds({"resolution": 16, "batch_size": 64}, only_64) == pytest.approx(3.0 / 16 / 2)


def test_wider_nets_are_read_as_measured_where_the_table_has_them_else_scaled_by_their_counted_work():
    def work(options: dict, widths: dict) -> float:
        return step_work(Model.of(options | widths)) / step_work(Model.of(options))

    paper32, paper64, wider_d, wider_g = ({"resolution": 32, "preset": "paper"}, {"resolution": 64, "preset": "paper"},
                                          {"d_width": 256}, {"g_width": 256})  # fmt: skip
    table = _table(
        [_row(32, 2.0, preset="paper"), _row(32, 8.0, preset="paper", **wider_d), _row(64, 6.0, preset="paper")]
    )
    assert step_seconds(paper32, table, widths=wider_d) == 8.0  # measured: 4x the time, where the work is 3.2x
    assert 3 < work(paper32, wider_d) < 3.5
    assert step_seconds(paper32, table, widths=wider_g) == pytest.approx(2.0 * work(paper32, wider_g))
    # measured only at another resolution: the config's own step at this one, scaled by the work
    assert step_seconds(paper64, table, widths=wider_d) == pytest.approx(6.0 * work(paper64, wider_d))
    assert step_seconds(paper32 | {"batch_size": 64}, table, widths=wider_d) == 4.0


def test_only_the_reference_threads_and_precision_count():
    table = _table([_row(64, 3.0)])
    others = [
        {**_row(64, 1.0), "threads": 1, "precision": "fp32"},
        {**_row(64, 2.0), "threads": 2, "precision": "bf16"},
    ]
    table["kinds"][KIND]["rows"] += others
    assert step_seconds({"resolution": 64}, table) == 3.0


def test_a_model_measured_at_no_resolution_is_refused_with_the_command_to_measure_it():
    table = _table([_row(64, 3.0)])
    with pytest.raises(DCGANError, match="no step time measured for a 64px 1ch G64/D64 z100 model on a CPU") as e:
        step_seconds({"resolution": 64, "channels": 1}, table)
    assert "python -m benchmarks.recipe_hours" in e.value.fix
    with pytest.raises(DCGANError, match="64px 3ch G64/D64 z100 --augment diffaug model"):
        step_seconds({"resolution": 64, "augment": "diffaug"}, table)


def test_merging_keeps_kinds_measured_elsewhere_and_drops_unmeasured_ones():
    old = _table([_row(64, 3.0)], kind="laptop")
    old["kinds"]["guess"] = {"measured_by": None, "rows": []}
    new = {"here": {"measured_by": "a command", "rows": [{**_row(64, 2.0), "precision": "fp32", "threads": 2}]}}
    reference = {"kind": "here", "threads": 2, "precision": "fp32"}
    merged = merge_kinds(old, new, reference)
    assert list(merged["kinds"]) == ["laptop", "here"] and merged["reference"] == reference
    assert step_seconds({"resolution": 64}, merged) == 2.0
    again = merge_kinds(merged, {"here": {"measured_by": "a command", "rows": []}}, reference)
    assert again["kinds"]["here"]["rows"] == [] and again["kinds"]["laptop"] == old["kinds"]["laptop"]
