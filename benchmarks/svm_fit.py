"""The L2-SVM's fit on a paper-sized feature matrix, this checkout against another.

    python -m benchmarks.svm_fit --before OLD/src --workdir DIR            # 3 rounds, 50,000 x 28,672, 10 iterations
    python -m benchmarks.svm_fit --before src --rows 2000 --dim 512 --rounds 1 --workdir /tmp/s   # does it run?

The matrix is the one :mod:`.features_scale` writes (float32 ``.npy``, synthetic Gaussian rows with a class
signal: the solver's cost per pass depends on the matrix's size, not on its values), written once and read as a
memory map, as ``linear-probe`` reads the features it extracted. 10% of the rows, drawn at random, are held out,
as the probe's validation split is, so the training rows are gathered, not sliced. Each fit is the default C grid
solved jointly (:func:`~dcgan.experiments.svm.fit_svms`), capped at ``--iters`` L-BFGS iterations, in its own
process with one checkout's ``src`` first on the path; the checkouts alternate within each round. The table gives
seconds per pass over the rows (each objective evaluation is one pass, plus the standardisation's), the process's
system CPU seconds and minor page faults (the cost of fresh memory), its peak memory, and a checksum of the
weights: equal checksums mean both checkouts computed the same SVMs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .common import ROOT, comparison, src_first, write_report
from .features_scale import memory_mb, synthetic_features

CHECKOUTS = ("before", "after")
PAPER_DIM = 28_672  # D width 128 at 64x64 or 256 at 32x32, layers down2..down4 pooled to 4x4


def worker(setup: dict) -> dict:
    """One fit in this process (run with a checkout's src first on the path)."""
    from dcgan.experiments.svm import DEFAULT_C_GRID, fit_svms

    X = np.load(setup["path"], mmap_mode="r")
    labels = np.load(setup["labels"])
    held_out = np.random.default_rng(0).permutation(len(X))[: len(X) // 10]
    train = np.setdiff1d(np.arange(len(X)), held_out)
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    svms = fit_svms(X, labels, train, DEFAULT_C_GRID, 10, max_iter=setup["iters"])
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    passes = svms[0].passes + 1  # the standardisation reads the rows once too
    return {
        "seconds": seconds,
        "passes": passes,
        "iterations": svms[0].iterations,
        "seconds_per_pass": seconds / passes,
        "system_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
        "weights_checksum": float(sum(s.weight.double().abs().sum() for s in svms)),
        **memory_mb(),
    }


def run_worker(src: Path, setup: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.svm_fit", "--worker", json.dumps(setup)],
        cwd=ROOT, env=src_first(src), capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the fit from {src} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def markdown(report: dict) -> str:
    shape = f"{report['rows']:,} x {report['dim']:,} float32 ({report['gigabytes']} GB), 90% of the rows fitted"
    lines = [
        f"The default C grid's joint fit, {report['iters']} L-BFGS iterations at most, on {shape}; median (min-max)"
        f" over {report['rounds']} rounds; {report['machine']}; before: {report['before']}, after: {report['after']}",
        "",
        "| checkout | seconds per pass | fit seconds | passes | system CPU s | minor page faults | peak RSS MB "
        "| anonymous RSS MB | weights checksum |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for checkout in CHECKOUTS:
        fits = [f for f in report["fits"] if f["checkout"] == checkout]

        def shown(key: str, digits: int = 1, fits: list[dict] = fits) -> str:
            values = [f[key] for f in fits]
            return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"

        sums = sorted({f"{f['weights_checksum']:.6g}" for f in fits})
        lines.append(
            f"| {checkout} | {shown('seconds_per_pass', 2)} | {shown('seconds')} | {shown('passes', 0)} "
            f"| {shown('system_s')} | {shown('minor_faults', 0)} | {shown('peak_rss_mb', 0)} "
            f"| {shown('RssAnon_mb', 0)} | {', '.join(sums)} |"
        )
    after, before = ([f["seconds_per_pass"] for f in report["fits"] if f["checkout"] == c] for c in CHECKOUTS[::-1])
    ratio = statistics.median(a / b for a, b in zip(after, before, strict=True))
    lines += ["", f"after / before, seconds per pass (median of the rounds' ratios): {ratio:.2f}x"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.svm_fit", description=__doc__.split("\n")[0])
    parser.add_argument("--before", metavar="SRC", help="the src folder of the code to compare with")
    parser.add_argument("--workdir", help="folder for the matrix (rows x dim x 4 bytes: 5.7 GB by default)")
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the matrix (default 50,000)")
    parser.add_argument("--dim", type=int, default=PAPER_DIM, help=f"features per row (default {PAPER_DIM:,})")
    parser.add_argument("--iters", type=int, default=10, help="L-BFGS iterations at most (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each fitting once per checkout (default 3)")
    parser.add_argument("--out", help="output stem [default: benchmarks/results/svm_fit]")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if not (args.before and args.workdir):
        parser.error("--before and --workdir are required")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    labels = synthetic_features(workdir / "synthetic.npy", args.rows, args.dim)
    np.save(workdir / "labels.npy", labels)
    setup = {"path": str(workdir / "synthetic.npy"), "labels": str(workdir / "labels.npy"), "iters": args.iters}
    sources = {"before": Path(args.before).resolve(), "after": ROOT / "src"}
    fits = []
    for round_ in range(1, args.rounds + 1):
        order = CHECKOUTS if round_ % 2 else CHECKOUTS[::-1]  # neither always runs on the warmer page cache
        for checkout in order:
            fits.append({"checkout": checkout, "round": round_, **run_worker(sources[checkout], setup)})
            print(f"round {round_}, {checkout}: {fits[-1]['seconds_per_pass']:.2f} s a pass", flush=True)
    report = {
        **comparison(sources),
        "rows": args.rows,
        "dim": args.dim,
        "gigabytes": round(args.rows * args.dim * 4 / 1e9, 2),
        "iters": args.iters,
        "rounds": args.rounds,
        "fits": fits,
    }
    write_report(args.out or ROOT / "benchmarks" / "results" / "svm_fit", report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
