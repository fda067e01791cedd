"""How good can the faces recipe's attribute classifier get? Its levers, judged on validation faces only.

python -m benchmarks.attribute_classifier [--variants "3,balance;6,balance;12,balance;12,balance,flip"]
    [--data ../shared/data/celeba-10k.zip] [--out benchmarks/results/attribute_classifier]

Each variant is ``EPOCHS[,balance][,flip][,decay][,widthN]``: ``train_classifier`` on the 10,000 CelebA faces at
64x64 (loaded as the faces recipe's training config loads them), seed 0, with ``validate``: it trains on the
9,000 training faces less 1,000 and reports on those 1,000, so the 1,000 held-out faces the page's figures are
scored against are never looked at (what ``dcgan attribute-classifier --validate`` does). Prints balanced
accuracy per attribute for Smiling, Eyeglasses and Male, with its standard error (from the validation faces'
positives and negatives), and the training CPU seconds; writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from dcgan.core.device import cpu_description
from dcgan.experiments.attributes import train_classifier
from dcgan.training import TrainConfig, load_training_data

from .common import SHARED_DATA, write_report

SHOWN = ("Smiling", "Eyeglasses", "Male")
DEFAULT = "3,balance;6,balance;12,balance;12,balance,flip;12,balance,width32"


def parse(variant: str) -> dict:
    epochs, *levers = variant.split(",")
    options = {"epochs": int(epochs), "balance": False, "flip": False, "decay": False, "width": 16}
    for lever in levers:
        if lever.startswith("width"):
            options["width"] = int(lever.removeprefix("width"))
        elif lever in ("balance", "flip", "decay"):
            options[lever] = True
        else:
            raise SystemExit(f"unknown lever {lever!r} in {variant!r}: balance, flip, decay or widthN")
    return options


def standard_error(balanced: float, positive_rate: float, n: int) -> float:
    """Of a balanced accuracy near ``balanced``: half the root of the two rates' binomial variances."""
    positives, negatives = max(1, round(positive_rate * n)), max(1, round((1 - positive_rate) * n))
    p = min(max(balanced, 1e-3), 1 - 1e-3)
    return 0.5 * math.sqrt(p * (1 - p) / positives + p * (1 - p) / negatives)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=DEFAULT, help="';'-separated EPOCHS[,balance][,flip][,decay][,widthN]")
    parser.add_argument("--data", default=str(SHARED_DATA / "celeba-10k.zip"))
    parser.add_argument("--out", default="benchmarks/results/attribute_classifier", help="report stem (.json, .md)")
    args = parser.parse_args()
    data = load_training_data(TrainConfig(data=args.data, resolution=64, progress=False))
    rows = []
    for variant in args.variants.split(";"):
        options = parse(variant)
        start = time.process_time()
        clf = train_classifier(data, seed=0, validate=True, **options)
        seconds = time.process_time() - start
        report = clf.report["attributes"]
        n = clf.report["test_images"]
        scores = {
            name: {
                "balanced": report[name]["balanced_accuracy"],
                "se": standard_error(report[name]["balanced_accuracy"], report[name]["positive_rate"], n),
            }
            for name in SHOWN
        }
        rows.append({"variant": variant, **options, "cpu_s": round(seconds, 1), "scores": scores})
        print(variant, {k: round(v["balanced"], 3) for k, v in scores.items()}, f"{seconds:.0f} s", flush=True)
    lines = [
        f"Machine: {cpu_description()}, {torch.get_num_threads()} torch threads. Balanced accuracy on 1,000 "
        "validation faces (never the held-out 1,000), +- one standard error.\n",
        "| variant | " + " | ".join(SHOWN) + " | CPU s |",
        "| --- |" + " --- |" * (len(SHOWN) + 1),
    ]
    for r in rows:
        cells = [f"{r['scores'][name]['balanced']:.3f} +- {r['scores'][name]['se']:.3f}" for name in SHOWN]
        lines.append(f"| {r['variant']} | " + " | ".join(cells) + f" | {r['cpu_s']:.0f} |")
    write_report(args.out, {"cpu": cpu_description(), "rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
