"""How every data path grows with the number of images N: time, peak memory and disk, each path a fresh process.

    python -m benchmarks.dataset_scale --sizes 10000 100000 1000000 --work /big/disk/folder
    python -m benchmarks.dataset_scale --sizes 2000 10000                # minutes

For each N it writes a synthetic set of N 64x64 JPEGs (random 8x8 colour blocks, so that
images differ; sub-folders of 1,000) and the same files in an uncompressed zip, then runs:
``prepare`` of the folder and of the zip, the first step of ``train`` from the prepared set,
``dedup``, ``features``, ``nearest`` and ``evaluate`` (its feature extraction of 1,000 real
and 1,000 generated images; the real ones drawn from all N). The networks are tiny (width 8)
so that time goes to the data, not to convolutions. Each command runs as the user runs it
(``python -m dcgan ...``, whole process). Peak RSS is the kernel's high-water mark of the
process's memory (``VmHWM``, polled every 20 ms; file pages it maps count while mapped; not
``ru_maxrss`` alone, which carries over the size of the process that started it); peak
anonymous memory (``RssAnon``, the memory that is the process's own, polled alike) shows what is left
when mapped files are set aside. Disk is what each path writes. Before each command the
written data is synced to disk: pages of a file written seconds before are still dirty, and
the kernel keeps dirty pages in a reader's memory until they are written back, whatever N is.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from dcgan.core.device import cpu_description

from .common import ROOT, write_report

PER_FOLDER = 1000
TINY = ["--g-width", "8", "--d-width", "8", "--nz", "16"]


def generate_folder(folder: Path, count: int, seed: int = 0) -> None:
    """``count`` 64x64 JPEGs of random 8x8 colour blocks, 1,000 per sub-folder."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, PER_FOLDER):
        shard = folder / f"{start // PER_FOLDER:05d}"
        shard.mkdir(parents=True, exist_ok=True)
        blocks = rng.integers(0, 256, (min(PER_FOLDER, count - start), 8, 8, 3), dtype=np.uint8)
        for i, block in enumerate(blocks.repeat(8, axis=1).repeat(8, axis=2), start):
            Image.fromarray(block).save(shard / f"{i:08d}.jpg", quality=90)


def write_zip(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for shard in sorted(folder.iterdir()):
            for path in sorted(shard.iterdir()):
                zf.write(path, f"images/{shard.name}/{path.name}")


def disk_mb(path: Path) -> float:
    """Space taken on disk by a file or folder (allocated blocks)."""
    paths = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_blocks * 512 for p in paths) / 2**20


def run_measured(args: list[str], env: dict) -> dict:
    """``python -m dcgan ARGS`` in a fresh process: wall and CPU seconds, peak RSS and peak anonymous memory (MB)."""
    os.sync()  # the set written just before is on disk: its pages, still dirty, could not leave a reader's memory
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "dcgan", *args], env=env, stdout=log, stderr=log)
        peaks = {"RssAnon:": 0, "VmHWM:": 0}
        done = threading.Event()
        watcher = threading.Thread(target=_poll_peaks, args=(proc.pid, peaks, done))
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        done.set()
        watcher.join()
        if proc.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"dcgan {' '.join(args)} failed:\n{log.read().decode()[-3000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": max(peaks["VmHWM:"], _own_peak(usage)) / 1024,
        "peak_anon_mb": peaks["RssAnon:"] / 1024,
    }


def _timed(fn, *args) -> dict:
    """Time a step run in this process (its memory is not measured)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return {
        "seconds": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_mb": 0,
        "peak_anon_mb": 0,
    }


def _poll_peaks(pid: int, peaks: dict[str, int], done: threading.Event) -> None:
    """The largest value of each ``/proc/PID/status`` field in ``peaks`` (kB), read every 20 ms until ``done``."""
    status = Path(f"/proc/{pid}/status")
    while not done.wait(0.02):
        try:
            text = status.read_text()
        except OSError:
            return
        for line in text.splitlines():
            field = line.split(maxsplit=1)[0] if line else ""
            if field in peaks:
                peaks[field] = max(peaks[field], int(line.split()[1]))


def _own_peak(usage) -> int:
    """The child's ``ru_maxrss`` only where it cannot be this process's: the kernel carries the high-water
    mark of the process that forked across ``exec``, so a child of a large parent reports the parent's size."""
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage.ru_maxrss if usage.ru_maxrss > parent else 0


def measure_size(count: int, work: Path, env: dict) -> list[dict]:
    """Every path at one N; each row: path, N, seconds, peak RSS and anonymous MB, disk MB written."""
    root = work / f"n{count}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rows = []

    def record(path: str, result: dict, written: Path | None) -> None:
        row = {"path": path, "images": count, **result, "disk_mb": disk_mb(written) if written else 0.0}
        rows.append(row)
        print(
            f"  N={count:>9,} {path:26s} {row['seconds']:8.1f} s  CPU {row['cpu_s']:7.1f} s  RSS {row['peak_rss_mb']:7.0f} MB"
            f"  anon {row['peak_anon_mb']:7.0f} MB  disk {row['disk_mb']:8.1f} MB",
            flush=True,
        )

    folder, archive, prepared, run = root / "images", root / "images.zip", root / "prepared", root / "run"
    record("generate the JPEG folder", _timed(generate_folder, folder, count), folder)
    record("zip it (stored)", _timed(write_zip, folder, archive), archive)
    common = ["--no-progress"]
    record("prepare (folder)", run_measured(["prepare", str(folder), "-o", str(prepared), *common], env), prepared)
    from_zip = root / "prepared-zip"
    record("prepare (zip)", run_measured(["prepare", str(archive), "-o", str(from_zip), *common], env), from_zip)
    shutil.rmtree(from_zip)
    train = ["train", "--data", str(prepared), "--steps", "1", "--precision", "fp32", "--sample-count", "16"]
    record("train: first step", run_measured([*train, *TINY, "--out", str(run), *common], env), run)
    deduped = root / "deduped"
    record("dedup", run_measured(["dedup", str(prepared), "-o", str(deduped), *common], env), deduped)
    shutil.rmtree(deduped)
    feats = root / "features.npy"
    checkpoint = ["--checkpoint", str(run)]
    record(
        "features",
        run_measured(["features", *checkpoint, "--data", str(prepared), "-o", str(feats), *common], env),
        feats,
    )
    feats.unlink()
    nearest = ["nearest", *checkpoint, "--data", str(prepared), "--samples", "100", "-o", str(root / "nn.png")]
    record("nearest", run_measured([*nearest, *common], env), root / "nn.png")
    evaluate = ["evaluate", *checkpoint, "--real", str(prepared), "--features", "discriminator", "--n", "1000"]
    record("evaluate (1,000 of N)", run_measured([*evaluate, "--metrics", "fid", *common], env), None)
    shutil.rmtree(root)
    return rows


def markdown(report: dict) -> str:
    sizes = report["settings"]["sizes"]
    head = " | ".join(f"N={n:,}: s / CPU s / RSS MB / anon MB / disk MB" for n in sizes)
    lines = [f"| path | {head} |", "| --- |" + " --- |" * len(sizes)]
    for path in dict.fromkeys(row["path"] for row in report["rows"]):
        cells = []
        for n in sizes:
            r = next(r for r in report["rows"] if r["path"] == path and r["images"] == n)
            cells.append(
                f"{r['seconds']:.1f} / {r['cpu_s']:.1f} / {r['peak_rss_mb']:.0f} / {r['peak_anon_mb']:.0f}"
                f" / {r['disk_mb']:.0f}"
            )
        lines.append(f"| {path} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dataset_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000], help="numbers of images")
    parser.add_argument("--work", help="folder for the generated sets (needs about 30 KB per image; default: temp)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dataset_scale"), help="output stem")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(dir=args.work) as work:
        env = os.environ | {"DCGAN_CACHE": str(Path(work) / "cache")}
        for done, n in enumerate(args.sizes, 1):  # the report is written after each N: an hours-long N loses no other
            rows += measure_size(n, Path(work), env)
            sizes = args.sizes[:done]
            report = {"settings": {"sizes": sizes, "cpu": cpu_description(), "cores": os.cpu_count()}, "rows": rows}
            write_report(args.out, report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
