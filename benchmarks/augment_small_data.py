"""Does ``--augment`` rescue small data sets? The measurement protocol of docs/your-own-images.md, section 5.

python -m benchmarks.augment_small_data --work DIR [--protocols folder,cifar] [--modes none,diffaug,ada]
    [--steps 600] [--cifar-steps 1000] [--n 2000] [--precision auto] [--classifier DIR] [--train-args "..."]

Protocols (every run at equal steps within its protocol, each mode of ``--modes`` in turn):

- ``folder``: the 4,000 photos of docs/your-own-images.md, section 4 (CIFAR-10's airplane, automobile, bird,
  horse and ship, the first 800 training images of each, in class folders) at 64x64, ``small``, ``--steps``;
  scored against the 5,000 test images of the same classes.
- ``cifar``: CIFAR-10 at 32x32, a seeded stratified 10% (``--limit 5000``) and the full 50,000, ``--cifar-steps``
  each; scored against the test split.
- ``celeba``: 500 CelebA faces (``--limit 500``) at 64x64, ``--steps``; scored against all 10,000 faces.
- ``bedrooms``: the 9,000 LSUN bedrooms less 1,000 held out (``--limit 8000``) at 64x64, ``--steps``; scored against
  the 1,000 held-out bedrooms (``--limit 8000 --held-out``) in the CIFAR-10 classifier's features.

Each run is scored with the project's domain metrics (a classifier ``dcgan train-classifier`` trains on CIFAR-10,
or on CelebA's attributes, at 32x32; ``--n`` generated and real images), and the health watch's rule is replayed
on its metrics.jsonl: how many steps after the first half of the run D was winning outright. Training CPU seconds
(process and children) and wall seconds are recorded for quality against CPU time. Writes DIR/results.json and
DIR/grid_<protocol>.png (the runs' final samples side by side, in the order of the table) and prints a table.
A run's training, scoring and result are each kept once done, so an interrupted protocol continues.
Pin and thread it as the machine asks (e.g. ``OMP_NUM_THREADS=1 taskset -c 1``): the runs inherit both.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

from PIL import Image

from dcgan.training.callbacks import Health

from .common import SHARED_DATA, dcgan

CIFAR_FILE, CELEBA_FILE, LSUN_FILE = "cifar10-jpg.zip", "celeba-10k.zip", "lsun-bedroom-9k.zip"
LSUN_TRAIN = ["--limit", "8000"]  # the lsun recipe's training images; the other 1,000 are held out

FOLDER_CLASSES = ("airplane", "automobile", "bird", "horse", "ship")  # docs/your-own-images.md, section 4
FOLDER_PER_CLASS = 800


@dataclass
class Run:
    """One training run of a protocol, and what was measured on it."""

    protocol: str
    name: str
    mode: str
    train: list[str]  # the dcgan train arguments
    real: list[str]  # what evaluate compares with: --real DATA [--split ...]
    features: str
    results: dict = field(default_factory=dict)


def five_class_folder(work: Path, cifar: Path) -> Path:
    """The 4,000-photo folder (train/<class>/) with the same classes' test images (test/<class>/) beside it."""
    root = work / "photos5"
    if (root / "done").exists():
        return root
    with zipfile.ZipFile(cifar) as archive:
        names = archive.namelist()
        for cls in FOLDER_CLASSES:
            train = sorted(n for n in names if n.startswith(f"cifar10/train/{cls}/"))[:FOLDER_PER_CLASS]
            test = sorted(n for n in names if n.startswith(f"cifar10/test/{cls}/"))
            for split, members in (("train", train), ("test", test)):
                (root / split / cls).mkdir(parents=True, exist_ok=True)
                for member in members:
                    (root / split / cls / Path(member).name).write_bytes(archive.read(member))
    (root / "done").touch()
    return root


def classifier(work: Path, name: str, args: list[str], extra: str) -> str:
    """A domain feature network (``domain:DIR``), trained once per work folder."""
    out = work / name
    if not (out / "classifier.safetensors").exists():
        dcgan(["train-classifier", *args, "--resolution", "32", *shlex.split(extra), "-o", str(out), "--no-progress"])
    return f"domain:{out}"


def plan(args: argparse.Namespace, work: Path) -> list[Run]:
    """Every run the chosen protocols ask for, in order."""
    modes, protocols = args.modes.split(","), set(args.protocols.split(","))
    cifar, celeba = str(args.data / CIFAR_FILE), str(args.data / CELEBA_FILE)
    cifar_features = ""
    if protocols & {"folder", "cifar", "bedrooms"}:
        cifar_args = ["--data", cifar, "--split", "train"]
        cifar_features = args.classifier or classifier(work, "clf-cifar", cifar_args, args.classifier_args)
    runs = []
    if "folder" in protocols:
        folder = str(five_class_folder(work, args.data / CIFAR_FILE))
        data = ["--data", folder, "--split", "train", "--resolution", "64", "--steps", str(args.steps)]
        real = ["--real", folder, "--split", "test"]
        runs += [Run("folder", f"folder-{mode}", mode, data, real, cifar_features) for mode in modes]
    if "cifar" in protocols:
        data = ["--data", cifar, "--split", "train", "--resolution", "32", "--steps", str(args.cifar_steps)]
        for size, limit in (("10pc", ["--limit", "5000"]), ("full", [])):
            runs += [
                Run("cifar", f"cifar-{size}-{mode}", mode, [*data, *limit], ["--real", cifar, "--split", "test"],
                    cifar_features)
                for mode in modes
            ]  # fmt: skip
    if "celeba" in protocols:
        features = classifier(work, "clf-celeba", ["--data", celeba], args.classifier_args)
        data = ["--data", celeba, "--limit", "500", "--resolution", "64", "--steps", str(args.steps)]
        runs += [Run("celeba", f"celeba-500-{mode}", mode, data, ["--real", celeba], features) for mode in modes]
    if "bedrooms" in protocols:
        lsun = str(args.data / LSUN_FILE)
        data = ["--data", lsun, *LSUN_TRAIN, "--resolution", "64", "--steps", str(args.steps)]
        real = ["--real", lsun, *LSUN_TRAIN, "--held-out"]
        runs += [Run("bedrooms", f"bedrooms-{mode}", mode, data, real, cifar_features) for mode in modes]
    return runs


def winning_steps(metrics: Path, mode: str, after: int) -> int:
    """Steps after ``after`` at which the health watch's rule saw D winning outright (its warnings silenced)."""
    health = Health(every=10**9)
    # the warnings' advice depends on the set's size; only whether they are active is counted here
    trainer = SimpleNamespace(step=0, note=lambda key, text: None, config=SimpleNamespace(augment=mode), data=())
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in metrics.read_text().splitlines():
            row = json.loads(line)
            if "kind" in row:  # an evaluation row
                continue
            trainer.step = row["step"]
            health.on_metrics(trainer, [row])
            count += row["step"] > after and "D wins" in health.active
    return count


def measure(run: Run, work: Path, args: argparse.Namespace) -> dict:
    """Train, score and replay one run (or read what an earlier invocation measured)."""
    folder = work / "runs" / run.name
    saved = folder / "benchmark.json"
    if saved.exists():
        return json.loads(saved.read_text())
    options = ["--augment", run.mode, "--precision", args.precision, "--no-progress", *shlex.split(args.train_args)]
    timing = folder / "timing.json"  # the training's CPU and wall seconds, kept if a later part fails
    if not timing.exists():
        cpu_s, wall_s = dcgan(["train", *run.train, *options, "--out", str(folder)])
        timing.write_text(json.dumps({"cpu_s": cpu_s, "wall_s": wall_s}) + "\n")
    cpu_s, wall_s = json.loads(timing.read_text()).values()
    scores = folder / "eval.json"
    if not scores.exists():
        dcgan(["evaluate", "--checkpoint", str(folder), *run.real, "--features", run.features, "--n", str(args.n),
               "--json", str(scores), "--no-progress"])  # fmt: skip
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    steps = rows[-1]["step"]
    results = {
        "steps": steps,
        "cpu_s": round(cpu_s, 1),
        "wall_s": round(wall_s, 1),
        **json.loads(scores.read_text())["values"],
        "d_wins_steps_after_half": winning_steps(folder / "metrics.jsonl", run.mode, steps // 2),
        "final_p": rows[-1].get("augment_p", {"none": 0.0, "diffaug": 1.0}.get(run.mode)),
        "command": "dcgan train " + shlex.join([*run.train, *options, "--out", str(folder)]),
    }
    saved.write_text(json.dumps(results, indent=1) + "\n")
    return results


def side_by_side(runs: list[Run], work: Path) -> None:
    """Each protocol's final sample grids in one image, left to right in table order."""
    for protocol in dict.fromkeys(run.protocol for run in runs):
        grids = [Image.open(work / "runs" / r.name / "samples" / "final.png") for r in runs if r.protocol == protocol]
        gap = 8
        sheet = Image.new("RGB", (sum(g.width for g in grids) + gap * (len(grids) - 1), max(g.height for g in grids)))
        x = 0
        for grid in grids:
            sheet.paste(grid.convert("RGB"), (x, 0))
            x += grid.width + gap
        sheet.save(work / f"grid_{protocol}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the data, classifiers, runs, results")
    parser.add_argument(
        "--data", type=Path, default=SHARED_DATA, help="folder of the CIFAR-10, CelebA and LSUN archives"
    )
    parser.add_argument("--protocols", default="folder,cifar", help="comma-separated: folder, cifar, celeba, bedrooms")
    parser.add_argument("--modes", default="none,diffaug,ada", help="--augment values to compare")
    parser.add_argument("--steps", type=int, default=600, help="steps of the folder, celeba and bedrooms runs")
    parser.add_argument("--cifar-steps", type=int, default=1000, help="steps of each CIFAR-10 run")
    parser.add_argument("--n", type=int, default=2000, help="generated and real images per evaluation")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--classifier", help="domain:DIR of an existing CIFAR-10 classifier (default: train one)")
    parser.add_argument("--train-args", default="", help="extra dcgan train arguments for every run (quoted)")
    parser.add_argument("--classifier-args", default="", help="extra dcgan train-classifier arguments (quoted)")
    args = parser.parse_args()
    if not (args.data / CIFAR_FILE).exists():
        sys.exit(f"{args.data / CIFAR_FILE} is missing: pass --data, the folder of {CIFAR_FILE} and {CELEBA_FILE}")
    args.work.mkdir(parents=True, exist_ok=True)
    runs = plan(args, args.work)
    for run in runs:
        run.results = measure(run, args.work, args)
    side_by_side(runs, args.work)
    (args.work / "results.json").write_text(json.dumps([asdict(run) for run in runs], indent=1) + "\n")
    print(
        "\n| run | --augment | steps | CPU min | domain-FID | KID | precision | recall | D-wins steps, 2nd half | final p |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        r = run.results
        print(
            f"| {run.name} | {run.mode} | {r['steps']} | {r['cpu_s'] / 60:.1f} | {r['fid']:.2f} | {r['kid']:.3f} |"
            f" {r['precision']:.3f} | {r['recall']:.3f} | {r['d_wins_steps_after_half']} | {r['final_p']:.2f} |"
        )
    print(f"\nresults: {args.work / 'results.json'}; grids: {args.work}/grid_<protocol>.png")


if __name__ == "__main__":
    main()
