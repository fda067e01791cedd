"""Paths the benchmarks share, kept here because benchmarks never import the test suite's modules."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"  # real data sets beside the checkout, where a machine has them


def write_report(stem: str | Path, report: dict, table: str) -> None:
    """A benchmark's output: every measurement in STEM.json, its markdown table in STEM.md and on screen."""
    out = Path(stem)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(table)
    print(table)
