"""The table of an experiment's report: one markdown rendering, for the commands and the gathered page."""

from dcgan.experiments.tables import Table, number, percent


def test_a_table_is_markdown_with_its_cells_as_given():
    table = Table(["model", "features", ""], [["ours", "1,024", ""], ["pixels", 3072, "12.50%"]])
    assert table.lines() == ["| model | features |  |", "| --- | --- | --- |", "| ours | 1,024 |  |",
                             "| pixels | 3072 | 12.50% |"]  # fmt: skip
    assert table.markdown() == "\n".join(table.lines())


def test_cells_format_fractions_and_counts():
    assert [number(0.5), number(12), number("x")] == ["0.500", "12", "x"]
    assert percent(0.0507) == "5.07%"
