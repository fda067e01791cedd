"""The loss-curve figure of a run, drawn from its logged metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...core.plotting import pyplot
from ...core.rundir import RAW

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window < 2:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_quality(ax: Axes, quality: list[dict]) -> None:
    """FID (or KID) against training CPU minutes, precision and recall on a second axis."""
    minutes = np.array([r["cpu_s"] for r in quality]) / 60
    main = "fid" if "fid" in quality[0] else "kid" if "kid" in quality[0] else None
    if main:
        averaged = f"{main}{RAW}" in quality[0]
        ax.plot(
            minutes, [r[main] for r in quality], "o-", color="black", label=f"{main}, averaged G" if averaged else main
        )
        if averaged:
            ax.plot(minutes, [r[f"{main}{RAW}"] for r in quality], "o--", color="grey", label=f"{main}, raw G")
        ax.set_ylabel(main)
        if main == "fid":  # from hundreds early on to a few units: a log scale keeps late gains visible
            ax.set_yscale("log")
        ax.legend(loc="upper left")
    if "precision" in quality[0]:
        twin = ax.twinx()
        for key in ("precision", "recall"):
            twin.plot(minutes, [r[key] for r in quality], ".--", label=key)
        twin.set_ylim(0, 1)
        twin.legend(loc="upper right")
    ax.set_xlabel("training CPU minutes")
    ax.set_title(f"quality ({quality[-1]['features'].split(' ')[0]})", fontsize=9)
    ax.grid(alpha=0.3)


def plot_losses(rows: list[dict], out_path: Path, quality: list[dict] | None = None) -> Path | None:
    """Losses of D and G, and D(x) / D(G(z)), per step (thin) and smoothed (thick), from metric rows; with
    ``quality`` (the run's evaluation rows), a third panel of quality against training time."""
    if not rows:
        return None
    steps = np.array([r["step"] for r in rows])
    window = max(1, len(rows) // 50)
    plt = pyplot()
    fig, axes = plt.subplots(1, 3 if quality else 2, figsize=(16.5 if quality else 11, 3.8))
    ax_loss, ax_prob = axes[:2]
    if quality:
        plot_quality(axes[2], quality)
    for ax, keys in ((ax_loss, ("loss_d", "loss_g")), (ax_prob, ("d_x", "d_g_z"))):
        for key in keys:
            values = np.array([r[key] for r in rows])
            line = ax.plot(steps, values, alpha=0.25, lw=0.8)[0]
            ax.plot(steps[window - 1 :], _smooth(values, window), color=line.get_color(), lw=1.8, label=key)
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    ax_loss.set_title("losses")
    ax_prob.set_title("D(x) and D(G(z))")
    ax_prob.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path
