"""benchmarks.recipe_hours: it times every model the recipes train, and its medians become the step-time table."""

import statistics

from dcgan.reproduce import RECIPES, SCALES
from dcgan.reproduce.plan import training_stages
from dcgan.reproduce.step_times import Model, merge_kinds, step_seconds


def test_the_models_are_every_recipe_config_and_its_levers_once():
    from benchmarks.recipe_hours import recipe_models

    models = recipe_models()
    assert len(models) == len(set(models))
    configs = {Model.of(o) for r in RECIPES.values() for s in SCALES for o in training_stages(r, s).values()}
    wider_d = training_stages(RECIPES["cifar10"], "cpu", {"d_width": 256})["train"]
    assert set(models) > configs and Model.of(wider_d) in set(models) - configs
    assert any(m.conditional and m.channels == 1 for m in models)  # the MNIST appendix model
    assert any(m.augment == "diffaug" and m.resolution == 64 for m in models)  # the bedrooms at --scale cpu


def test_a_conditional_augmented_step_is_timed_after_its_warm_up():
    from benchmarks.recipe_hours import time_steps

    model = Model.of({"resolution": 16, "channels": 1, "g_width": 4, "d_width": 4, "nz": 8, "conditional": True,
                      "augment": "diffaug"})  # fmt: skip
    timed = time_steps(model, "fp32", steps=2, batch=4)
    assert len(timed["wall_s"]) == 2 and len(timed["cpu_s"]) == 2
    assert all(s > 0 for s in timed["wall_s"]) and timed["warm_up_s"] > 0


def _rows() -> list[dict]:
    model = Model.of({"resolution": 64}).to_dict()
    kinds = {"native": "cpu", "avx2": "cpu, kernels capped at AVX2"}
    return [
        {"kind": kinds[isa], "isa": isa, **model, "precision": precision, "threads": threads, "wall_s": [s, 2 * s, 3 * s]}
        for isa, threads, precision, s in [
            ("native", 1, "fp32", 4.0), ("native", 1, "bf16", 2.0), ("native", 2, "fp32", 2.5),
            ("avx2", 1, "fp32", 5.0), ("avx2", 2, "fp32", 3.0),
        ]
    ]  # fmt: skip


def test_the_medians_enter_the_table_with_avx2_at_2_threads_in_fp32_as_the_reference():
    from benchmarks.recipe_hours import reference_of, table_entries

    rows = _rows()
    reference = reference_of(rows)
    assert reference == {"kind": "cpu, kernels capped at AVX2", "threads": 2, "precision": "fp32"}
    entries = table_entries(rows, "python -m benchmarks.recipe_hours")
    assert sorted(len(e["rows"]) for e in entries.values()) == [2, 3]
    table = merge_kinds({"about": "", "kinds": {}}, entries, reference)
    assert step_seconds({"resolution": 64}, table) == 6.0  # the median of 3, 6 and 9
    assert reference_of([r for r in rows if r["isa"] == "native"])["threads"] == 2  # no AVX2 run: its own kernels


def test_the_markdown_has_a_column_per_kernel_set_threads_and_precision():
    from benchmarks.recipe_hours import markdown

    rows = _rows()
    text = markdown(rows, {"settings": {"steps": 3}, "machine": "a CPU", "torch": "2"})
    header, body = text.splitlines()[2], text.splitlines()[4]
    assert (
        header.count("|") == 7 and "AVX2 kernels, 2 threads, fp32" in header and "own kernels, 1 thread, bf16" in header
    )
    medians = [statistics.median(r["wall_s"]) for r in rows]
    assert body == "| 64px 3ch G64/D64 z100 | " + " | ".join(f"{m:.3f}" for m in medians) + " |"
