"""The table of an experiment's report: the same rows printed by its command and set on a results page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Table:
    """Column names and rows of cells as shown (numbers formatted once, here; counts may stay integers)."""

    columns: list[str]
    rows: list[list]

    def lines(self) -> list[str]:
        """The table in markdown, a line each: what a command prints and what the gathered page holds."""
        return [
            "| " + " | ".join(self.columns) + " |",
            "|" + " --- |" * len(self.columns),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in self.rows),
        ]

    def markdown(self) -> str:
        return "\n".join(self.lines())


def number(value) -> str:
    """A cell of a measured table: fractions to three decimals, counts as they are."""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"
