"""The loss-curve figure of a run, drawn from its logged metrics."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works on headless machines
import matplotlib.pyplot as plt
import numpy as np


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window < 2:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_losses(rows: list[dict], out_path: Path) -> Path | None:
    """Losses of D and G, and D(x) / D(G(z)), per step (thin) and smoothed (thick), from metric rows."""
    if not rows:
        return None
    steps = np.array([r["step"] for r in rows])
    window = max(1, len(rows) // 50)
    fig, (ax_loss, ax_prob) = plt.subplots(1, 2, figsize=(11, 3.8))
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
