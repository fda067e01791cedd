"""Time and memory of the paper-sized pipeline: 28,672-dim features and an SVM on 50,000 x 28,672.

Two measurements, each printed as one JSON line:

* ``extract``: a ``paper``-preset discriminator at 64x64 (random weights: the cost does not
  depend on them), layers down2..down4 = 28,672 dims, on the first ``--images`` CIFAR-10
  training images upscaled to 64x64, written to a float32 memmap;
* ``svm``: the L-BFGS L2-SVM on a 50,000 x 28,672 float32 memmap (5.7 GB) for ``--iters``
  iterations. Its rows are synthetic (Gaussian, with a class signal), because extracting real
  ones for 50,000 images takes longer than this 2-core machine had; the solver's cost per
  iteration depends on the matrix's size, not on its values.

    python -m benchmarks.features_scale --data PATH --images 1000 --rows 50000 --iters 10 --workdir DIR
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dcgan import ModelSpec, load_dataset
from dcgan.core.device import peak_rss_mb
from dcgan.experiments.features import discriminator_extractor, extract, random_discriminator
from dcgan.experiments.svm import accuracy, fit_svm

PAPER_LAYERS = ["down2", "down3", "down4"]


def memory_mb() -> dict:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    kb = {k: int(status[k].split()[0]) for k in ("VmHWM", "RssAnon", "RssFile")}
    return {"peak_rss_mb": peak_rss_mb(), **{f"{k}_mb": round(v / 1024) for k, v in kb.items()}}


def bench_extract(data: str, images: int, workdir: Path) -> None:
    D = random_discriminator(ModelSpec(resolution=64, channels=3, nz=100, g_width=128, d_width=128))
    extractor = discriminator_extractor(D, PAPER_LAYERS, name="paper D 64x64")
    pixels = load_dataset(data, resolution=64, channels=3, limit=images).images
    start = time.perf_counter()
    feats = extract(extractor, pixels, workdir / "paper-features.npy", batch_size=64, progress=False)
    seconds = time.perf_counter() - start
    rate = len(feats) / seconds
    report = {"images": len(feats), "dim": feats.shape[1], "seconds": round(seconds, 1)}
    report |= {"images_per_s": round(rate, 1), "extrapolated_50000_s": round(50_000 / rate)}
    print(json.dumps({"extract": report | memory_mb()}), flush=True)


def synthetic_features(path: Path, rows: int, dim: int) -> np.ndarray:
    """A float32 ``.npy`` of Gaussian rows whose first 10 features carry the class; returns the 10 classes' labels."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, rows)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    for start in range(0, rows, 2000):
        block = rng.standard_normal((min(2000, rows - start), dim), dtype=np.float32)
        block[:, :10] += 2 * np.eye(10, dtype=np.float32)[labels[start : start + 2000]]
        X[start : start + 2000] = block
    X.flush()
    return labels


def bench_svm(rows: int, dim: int, iters: int, workdir: Path) -> None:
    labels = synthetic_features(workdir / "synthetic.npy", rows, dim)
    X = np.load(workdir / "synthetic.npy", mmap_mode="r")
    held_out = rows - rows // 10
    train, test = np.arange(held_out), np.arange(held_out, rows)
    start = time.perf_counter()
    svm = fit_svm(X, labels, train, C=0.01, num_classes=10, max_iter=iters)
    seconds = time.perf_counter() - start
    report = {"rows": len(train), "dim": dim, "gigabytes": round(X.nbytes / 1e9, 2), "iterations": svm.iterations}
    report["passes"] = svm.passes
    report |= {"seconds": round(seconds, 1), "test_accuracy": accuracy(svm, X, labels, test)}
    print(json.dumps({"svm": report | memory_mb()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="images for the extraction benchmark")
    parser.add_argument("--images", type=int, default=1000, help="images to extract")
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the SVM benchmark")
    parser.add_argument("--iters", type=int, default=10, help="L-BFGS iterations of the SVM benchmark")
    parser.add_argument("--workdir", required=True, help="folder for the memmaps (about 6 GB)")
    parser.add_argument("--skip", choices=("extract", "svm"), help="skip one part")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.skip != "extract":
        bench_extract(args.data, args.images, workdir)
    if args.skip != "svm":
        bench_svm(args.rows, 16 * (256 + 512 + 1024), args.iters, workdir)


if __name__ == "__main__":
    main()
