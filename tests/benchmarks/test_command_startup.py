"""benchmarks.command_startup: each command runs as a whole process from the checkout it names, and the table
pairs the two checkouts round by round."""

import pytest


def test_a_command_runs_from_the_src_folder_it_is_given_and_a_failure_says_why(tmp_path):
    from benchmarks.command_startup import run_once
    from benchmarks.common import ROOT

    (tmp_path / "elsewhere" / "dcgan").mkdir(parents=True)
    (tmp_path / "elsewhere" / "dcgan" / "__init__.py").write_text("")
    (tmp_path / "elsewhere" / "dcgan" / "__main__.py").write_text("raise SystemExit('the other checkout ran')")
    result = run_once(["--version"], ROOT / "src", tmp_path)
    assert result["seconds"] > 0 and result["peak_mib"] > 10
    with pytest.raises(RuntimeError, match="the other checkout ran"):
        run_once(["--version"], tmp_path / "elsewhere", tmp_path)


def test_the_table_gives_each_commands_medians_and_the_median_of_the_rounds_ratios():
    from benchmarks.command_startup import COMMANDS, markdown

    rows = [
        {"command": name, "checkout": checkout, "round": r, "seconds": seconds, "peak_mib": peak}
        for name in COMMANDS
        for r, (before, after) in enumerate(((4.0, 2.0), (3.0, 2.4), (5.0, 2.0)), 1)
        for checkout, seconds, peak in (("before", before, 340.0), ("after", after, 229.0))
    ]
    table = markdown({"machine": "m", "before": "abc", "after": "def", "rounds": 3, "rows": rows})
    assert "| `dcgan --version` | 4.00 s (3.00-5.00) | 2.00 s (2.00-2.40) | 0.50x | 340 -> 229 |" in table
    assert table.count("| `dcgan ") == len(COMMANDS)
