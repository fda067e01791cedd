"""The quality runs had reached after given minutes of training, read from their metrics.jsonl eval rows.

python -m benchmarks.tools.quality_at RUN [RUN ...] --minutes 1,2,5,10 [--clock wall|cpu] [--json out.json]
    [--plot curves.png]

For each run and each time, the last evaluation made by then (training time: evaluations excluded),
as a markdown table of FID, precision and recall; a run with an averaged G (--ema) gives two rows, the
averaged G and the raw G scored on the same z. ``--plot`` draws each run's quality against training CPU time, one panel a run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib.pyplot as plt

from dcgan.core.rundir import EVAL, RAW, RunDir
from dcgan.training.callbacks.plots import plot_quality


def reached(rows: list[dict], seconds: float, clock: str) -> dict | None:
    """The last eval row at or before ``seconds`` of training on ``clock`` ('wall' or 'cpu')."""
    done = [row for row in rows if row[f"{clock}_s"] <= seconds]
    return done[-1] if done else None


def table(runs: list[Path], minutes: list[float], clock: str) -> tuple[str, list[dict]]:
    header = "| run | G | " + " | ".join(f"{m:g} min" for m in minutes) + " | end |"
    lines = [header, "|" + " --- |" * (len(minutes) + 3)]
    found = []
    for run in runs:
        rows = RunDir(run).read_metrics(EVAL)
        if not rows:
            continue
        averaged = f"fid{RAW}" in rows[-1]
        for suffix, name in [("", "averaged"), (RAW, "raw")] if averaged else [("", "raw")]:
            cells = []
            for m in [*minutes, None]:
                row = rows[-1] if m is None else reached(rows, 60 * m, clock)
                if row is None:
                    cells.append("-")
                    continue
                fid, p, r = (row[f"{k}{suffix}"] for k in ("fid", "precision", "recall"))
                cells.append(f"{fid:.1f} / {p:.2f} / {r:.2f} (step {row['step']})")
                found.append({"run": str(run), "generator": name, "minutes": m, "step": row["step"], "fid": fid})
            lines.append(f"| {run.name} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines), found


def plot(runs: list[Path], out: Path) -> None:
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.8), squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        plot_quality(ax, RunDir(run).read_metrics(EVAL))
        ax.set_title(f"{run.name}: {ax.get_title()}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--minutes", default="1,2,5,10")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    text, found = table(args.runs, [float(m) for m in args.minutes.split(",")], args.clock)
    print(f"FID / precision / recall reached by training {args.clock} time\n\n{text}")
    if args.json:
        args.json.write_text(json.dumps(found, indent=1) + "\n")
    if args.plot:
        plot(args.runs, args.plot)


if __name__ == "__main__":
    main()
