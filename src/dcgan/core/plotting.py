"""matplotlib, loaded when a chart is first drawn: imported with the package it would add about half a second to
the start-up of every command, most of which never draw one (docs/benchmarks.md, "Start-up")."""

from __future__ import annotations

from types import ModuleType


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend: files only, so it works on headless machines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot
