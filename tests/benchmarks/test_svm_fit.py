"""benchmarks.svm_fit: each checkout fits the same SVMs on the same memory-mapped matrix in its own process, and
the table says whether their weights agree."""

import json


def test_two_checkouts_fit_the_same_matrix_and_the_table_shows_equal_weights(tmp_path):
    from benchmarks.common import ROOT
    from benchmarks.svm_fit import main

    out = tmp_path / "report"
    args = ["--before", str(ROOT / "src"), "--workdir", str(tmp_path / "work"), "--rows", "300", "--dim", "24"]
    assert main([*args, "--iters", "3", "--rounds", "1", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert [f["checkout"] for f in report["fits"]] == ["before", "after"]
    assert len({f["weights_checksum"] for f in report["fits"]}) == 1  # the same code: the same SVMs
    assert all(f["passes"] >= 2 and f["seconds_per_pass"] > 0 for f in report["fits"])
    table = out.with_suffix(".md").read_text()
    assert "300 x 24 float32" in table and table.count("| before |") == table.count("| after |") == 1
