"""Two runs side by side: loss curves overlaid and final samples, with summary statistics.

    python -m benchmarks.tools.compare_runs RUN_A RUN_B -o docs/img/compare.png

Used to show that a speed mode (e.g. ``--precision bf16``) learns like the fp32 reference
from the same seed: same data order, same z, so any gap is the arithmetic's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from dcgan.core.rundir import RunDir

KEYS = ("loss_d", "loss_g", "d_x", "d_g_z")


def read_metrics(run: Path) -> dict[str, np.ndarray]:
    rows = RunDir(run).read_metrics()
    if not rows:
        raise SystemExit(f"{run} has no logged steps (no {RunDir(run).metrics.name}): is it a run folder?")
    return {k: np.array([r[k] for r in rows]) for k in ("step", *KEYS)}


def smooth(values: np.ndarray, window: int = 20) -> np.ndarray:
    return np.convolve(values, np.ones(window) / window, mode="valid")


def summary(a: dict, b: dict) -> dict:
    """Per statistic: mean over the last quarter of steps for each run, and the mean gap between smoothed curves."""
    n = min(len(a["step"]), len(b["step"]))
    tail = slice(3 * n // 4, n)
    out = {}
    for k in KEYS:
        gap = np.abs(smooth(a[k][:n]) - smooth(b[k][:n])).mean()
        out[k] = {
            "a_last_quarter": float(a[k][tail].mean()),
            "b_last_quarter": float(b[k][tail].mean()),
            "mean_gap": float(gap),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="figure PNG; a JSON summary is written beside it"
    )
    parser.add_argument("--labels", nargs=2, default=None, help="names of the two runs")
    args = parser.parse_args(argv)
    labels = args.labels or [args.run_a.name, args.run_b.name]
    a, b = read_metrics(args.run_a), read_metrics(args.run_b)
    fig, axes = plt.subplots(1, 4, figsize=(18, 4), gridspec_kw={"width_ratios": [1.3, 1.3, 1, 1]})
    for ax, keys, title in (
        (axes[0], ("loss_d", "loss_g"), "losses (smoothed, 20 steps)"),
        (axes[1], ("d_x", "d_g_z"), "D(x), D(G(z))"),
    ):
        for key in keys:
            for run, label, style in ((a, labels[0], "-"), (b, labels[1], "--")):
                ax.plot(run["step"][19:], smooth(run[key]), style, label=f"{key} {label}")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    for ax, run, label in ((axes[2], args.run_a, labels[0]), (axes[3], args.run_b, labels[1])):
        ax.imshow(Image.open(RunDir(run).final_samples), cmap="gray")
        ax.set_title(f"final samples, {label}")
        ax.axis("off")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=80)
    stats = summary(a, b)
    args.output.with_suffix(".json").write_text(json.dumps({"labels": labels, "statistics": stats}, indent=2) + "\n")
    print(f"| statistic | {labels[0]} (last quarter) | {labels[1]} (last quarter) | mean gap of smoothed curves |")
    print("| --- | --- | --- | --- |")
    for k, v in stats.items():
        print(f"| {k} | {v['a_last_quarter']:.3f} | {v['b_last_quarter']:.3f} | {v['mean_gap']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
