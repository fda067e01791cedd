"""Which D width (and how many epochs) makes the best CIFAR-10 features? Chosen on validation, never on test.

python -m benchmarks.cifar10_d_width --work DIR [--widths 128,256] [--epochs 5] [--probe-epochs 3,5]
    [--precision auto] [--out benchmarks/results/cifar10_d_width]

The cifar10 recipe's model (``--preset paper`` at 32x32: G and D of width 128, so 14,336 pooled features)
against wider discriminators (``--d-width 256`` gives the paper's 28,672), each trained on the 50,000 training
images for ``--epochs`` with the recipe's seed, then probed with the recipe's protocol (all labels, C chosen on
5,000 images held out of the training split) on that held-out split only: ``dcgan linear-probe
--validation-only`` never reads the test split, so the winner can be run at full length and tested once.
Training CPU seconds are recorded (quality against compute). A run's training and each probe are kept once
done, so an interrupted sweep continues. Pin and thread it as the machine asks (``OMP_NUM_THREADS=1 taskset
-c 1``): the runs inherit both.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import torch

from dcgan.core.device import cpu_description

from .common import SHARED_DATA, dcgan, write_report

TRAIN = "cifar10-jpg.zip/cifar10/train"  # the cifar10 recipe's training split
RECIPE = ["--resolution", "32", "--preset", "paper", "--seed", "0"]  # the recipe's model, as configs/cifar10 says


def train(folder: Path, width: int, epochs: int, data: str, precision: str) -> dict:
    """Train (or resume, or read back) one width; a checkpoint after every epoch."""
    timing = folder / "timing.json"
    if timing.exists():
        return json.loads(timing.read_text())
    args = ["train", "--data", data, *RECIPE, "--d-width", str(width), "--epochs", str(epochs)]
    args += ["--checkpoint-every", "1", "--precision", precision, "--no-progress"]
    last = folder / "checkpoints" / "last.safetensors"
    cpu_s, wall_s = dcgan([*args, "--resume", str(folder)] if last.exists() else [*args, "--out", str(folder)])
    steps = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    # a resumed run's earlier session is not in these seconds: the sweep's runs are read as one session
    result = {
        "cpu_s": round(cpu_s, 1),
        "wall_s": round(wall_s, 1),
        "steps": steps,
        "command": "dcgan " + shlex.join(args),
    }
    timing.write_text(json.dumps(result) + "\n")
    return result


def probe(folder: Path, epoch: int, data: str) -> dict:
    """The recipe's protocol on the validation split only, for one epoch's checkpoint."""
    out = folder / f"probe-epoch_{epoch:04d}.json"
    if not out.exists():
        checkpoint = folder / "checkpoints" / f"epoch_{epoch:04d}.safetensors"
        dcgan(["linear-probe", "--checkpoint", str(checkpoint), "--data", data, "--protocol", "cifar10",
               "--validation-only", "--baselines", "none", "--json", str(out), "--no-progress"])  # fmt: skip
    (row,) = json.loads(out.read_text())["rows"]
    return {"features": row["feature_dim"], "validation_accuracy": row["validation_accuracy"], "C": row["best_c"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the runs and probes")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="folder holding cifar10-jpg.zip")
    parser.add_argument("--widths", default="128,256", help="D widths to train (128: the recipe's)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs each width trains (a run kept is read back)")
    parser.add_argument("--probe-epochs", default="", help="epochs whose checkpoints are probed [default: the last]")
    parser.add_argument("--precision", default="auto", help="training precision (auto: bf16 where it is faster)")
    parser.add_argument("--out", default="benchmarks/results/cifar10_d_width", help="report stem (.json, .md)")
    args = parser.parse_args()
    data = str(args.data / TRAIN)
    probe_epochs = [int(e) for e in args.probe_epochs.split(",") if e] or [args.epochs]
    rows = []
    for width in (int(w) for w in args.widths.split(",")):
        folder = args.work / f"d{width}"
        trained = train(folder, width, args.epochs, data, args.precision)
        for epoch in probe_epochs:
            if not (folder / "checkpoints" / f"epoch_{epoch:04d}.safetensors").is_file():
                print(f"d{width}: no checkpoint after epoch {epoch} (trained {trained['steps']} steps), not probed")
                continue
            rows.append({"d_width": width, "epoch": epoch, **probe(folder, epoch, data), **trained})
    widths = {r["d_width"] for r in rows}
    common = max(e for e in {r["epoch"] for r in rows} if {r["d_width"] for r in rows if r["epoch"] == e} == widths)
    winner = max((r for r in rows if r["epoch"] == common), key=lambda r: r["validation_accuracy"])
    lines = [
        f"Machine: {cpu_description()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads; validation: 5,000 training images held out (seed 0).\n",
        "| D width | features | epoch | validation accuracy, all labels | C | training CPU hours (whole run) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['d_width']} | {r['features']:,} | {r['epoch']} | {100 * r['validation_accuracy']:.2f}% | "
            f"{r['C']} | {r['cpu_s'] / 3600:.2f} |"
        )
    lines.append(f"\nThe best at epoch {common}, the last every width was probed at: D width {winner['d_width']}.")
    report = {"epochs": args.epochs, "cpu": cpu_description(), "torch": torch.__version__, "rows": rows,
              "winner": {"d_width": winner["d_width"], "epoch": common}}  # fmt: skip
    write_report(args.out, report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
