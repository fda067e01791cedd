"""Paths the benchmarks share, kept here because benchmarks never import the test suite's modules."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"  # real data sets beside the checkout, where a machine has them
