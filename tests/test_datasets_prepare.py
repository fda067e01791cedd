"""dcgan prepare: the same pixels as direct loading, memory-mapped loading, the training cache, the CLI."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data, write_images
from dcgan import DCGANError, load_dataset
from dcgan.cli import main
from dcgan.data import cache, prepare_dataset, prepared
from test_datasets_celeba import ATTRS, write_celeba

TINY = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "4", "--sample-count", "4", "--no-progress"]


def _same(a, b):
    assert a.images.shape == b.images.shape and (a.images.numpy() == b.images.numpy()).all()
    for field in ("labels", "attributes"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None and y is None) or (x.numpy() == y.numpy()).all()
    assert a.class_names == b.class_names and a.attribute_names == b.attribute_names


def _is_file_mapped(tensor, file) -> bool:
    """Whether the tensor's memory lies in a mapping of ``file`` (Linux /proc/self/maps)."""
    address = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *_, name = line.split(maxsplit=5)
        lo, hi = (int(x, 16) for x in span.split("-"))
        if lo <= address < hi:
            return name.strip() == str(file)
    return False


def test_prepare_then_load_equals_direct_loading(tmp_path):
    write_images(
        tmp_path / "imgs", [(f"{c}/{i}.png", m, (20 + i, 30)) for c in "ab" for i, m in enumerate(["L", "RGB", "P"])]
    )
    write_celeba(tmp_path / "celeba", ATTRS)
    for n, (src, options) in enumerate(
        [
            (tmp_path / "imgs", {"resolution": 16}),
            (tmp_path / "celeba", {"resolution": 16, "where": "Smiling=1"}),
            (tmp_path / "celeba", {"channels": 1, "limit": 3}),
        ]
    ):
        out = tmp_path / "prepared" / f"{src.name}-{n}"
        prepare_dataset(src, out, **options)
        loaded = load_dataset(out)
        _same(loaded, load_dataset(src, **options))
        if sys.platform.startswith("linux"):
            assert _is_file_mapped(loaded.images, out / prepared.IMAGES)  # memory-mapped, not copied
        manifest = json.loads((out / prepared.MANIFEST).read_text())
        assert manifest["source"]["path"] == str(src.resolve()) and manifest["count"] == len(loaded)
    celeba_set = tmp_path / "prepared" / "celeba-1"
    _same(
        load_dataset(celeba_set, where="Male=-1"),
        load_dataset(tmp_path / "celeba", resolution=16, where="Smiling=1,Male=-1"),
    )
    _same(
        load_dataset(celeba_set, limit=1), load_dataset(tmp_path / "celeba", resolution=16, where="Smiling=1", limit=1)
    )


def test_unreadable_images_are_dropped_from_the_file(tmp_path):
    write_images(tmp_path / "imgs", [(f"{i}.png", "RGB", (16, 16)) for i in range(5)])
    (tmp_path / "imgs" / "2.png").write_bytes(b"broken")
    with pytest.raises(DCGANError, match="--skip-bad"):
        prepare_dataset(tmp_path / "imgs", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.partial*"))
    prepare_dataset(tmp_path / "imgs", tmp_path / "out", skip_bad=True)
    on_disk = np.load(tmp_path / "out" / prepared.IMAGES)  # a valid .npy of exactly the 4 good images
    direct = load_dataset(tmp_path / "imgs", skip_bad=True)
    assert on_disk.shape == (4, 3, 16, 16) and (on_disk == direct.images.numpy()).all()
    assert load_dataset(tmp_path / "out").skipped == 1


def test_prepared_sets_refuse_conflicting_options(tmp_path):
    write_images(tmp_path / "imgs", [(f"{i}.png", "RGB", (16, 16)) for i in range(3)])
    prepare_dataset(tmp_path / "imgs", tmp_path / "out", resolution=16)
    with pytest.raises(DCGANError, match="already exists"):
        prepare_dataset(tmp_path / "imgs", tmp_path / "out")
    with pytest.raises(DCGANError, match="prepared with resolution 16, not 32"):
        load_dataset(tmp_path / "out", resolution=32)
    with pytest.raises(DCGANError, match="--split applies to its source"):
        load_dataset(tmp_path / "out", split="test")
    with pytest.raises(DCGANError, match="has none"):
        load_dataset(tmp_path / "out", where="Smiling=1")
    (tmp_path / "out" / prepared.IMAGES).write_bytes(b"\x93NUMPY broken")
    with pytest.raises(DCGANError, match="cannot read the prepared set"):
        load_dataset(tmp_path / "out")


def test_training_cache_is_keyed_by_source_and_options(tmp_path):
    write_images(tmp_path / "imgs", [(f"{i}.png", "RGB", (16, 16)) for i in range(6)])
    cache_dir = cache.cache_root() / "prepared"
    before = set(cache_dir.iterdir()) if cache_dir.exists() else set()
    first = load_dataset(tmp_path / "imgs", resolution=16, cache=True)
    again = load_dataset(tmp_path / "imgs", resolution=16, cache=True)
    made = set(cache_dir.iterdir()) - before
    assert len(made) == 1 and _is_file_mapped(again.images, next(iter(made)) / prepared.IMAGES)
    _same(first, load_dataset(tmp_path / "imgs", resolution=16))
    load_dataset(tmp_path / "imgs", resolution=32, cache=True)  # other options: another copy
    write_images(tmp_path / "imgs", [("new.png", "RGB", (16, 16))], seed=1)  # the source changed: another copy
    assert len(load_dataset(tmp_path / "imgs", resolution=16, cache=True)) == 7
    assert len(set(cache_dir.iterdir()) - before) == 3


def test_cli_prepare_then_train(tmp_path, capsys):
    write_images(tmp_path / "imgs", [(f"{c}/{i}.png", "RGB", (24, 20)) for c in "ab" for i in range(4)])
    assert (
        main(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "set"), "--resolution", "16", "--no-progress"])
        == 0
    )
    assert "prepared 8 images (3x16x16) into" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "set"), "--epochs", "1", "--out", str(run), *TINY]) == 0
    assert json.loads((run / "config.json").read_text())["resolution"] == 16
    assert main(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "set"), "--resolution", "100"]) == 2
    assert "power of two" in capsys.readouterr().err


def test_real_cifar10_prepared_equals_direct(tmp_path):
    zip_path = shared_data("cifar10-jpg.zip")
    prepare_dataset(zip_path, tmp_path / "c10", resolution=32, split="test", limit=2000)
    _same(load_dataset(tmp_path / "c10"), load_dataset(zip_path, resolution=32, split="test", limit=2000))


def test_cache_lists_and_evicts_entries(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCGAN_CACHE", str(tmp_path / "cache"))
    for name, count in (("a", 5), ("b", 3), ("c", 2)):
        write_images(tmp_path / name, [(f"{i}.png", "RGB", (20, 20)) for i in range(count)], seed=count)
        load_dataset(tmp_path / name, resolution=16, cache=True)
    root = cache.cache_root() / "prepared"
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (root / f".x.partial-{host}-{dead.stdout.strip()}").mkdir()  # left by a killed process
    (root / f".y.partial-{host}-{os.getpid()}").mkdir()  # a write in progress here
    (root / ".w.partial-elsewhere-2").mkdir()  # another machine's write, untouched for 10 days below
    entries = {e.source: e for e in cache.cache_entries()}
    assert entries[str(tmp_path / "a")].count == 5 and entries[str(tmp_path / "b")].count == 3
    assert entries[str(tmp_path / "a")].nbytes > 5 * 3 * 16 * 16
    # everything was last used 10 days ago; then a is used again, b's source disappears, c's changes
    old = time.time() - 10 * 86400
    for entry in cache.cache_entries():
        os.utime(entry.path / "manifest.json" if entry.state == "ok" else entry.path, (old, old))
    (root / ".z.partial-elsewhere-1").mkdir()  # another machine's write, fresh
    load_dataset(tmp_path / "a", resolution=16, cache=True)
    shutil.rmtree(tmp_path / "b")
    write_images(tmp_path / "c", [("new.png", "RGB", (20, 20))])
    states = {(e.path.name[:2], e.source[-1], e.state, round(e.idle_days)) for e in cache.cache_entries()}
    assert {(source, state, days) for _, source, state, days in states} == {
        ("a", "ok", 0),
        ("b", "source missing", 10),
        ("c", "source changed", 10),
        ("?", "incomplete", 10),  # x: its process is gone
        ("?", "being written", 10),  # y: this process
        ("?", "incomplete", 10),  # w: another machine's, too old
        ("?", "being written", 0),  # z: another machine's, recent
    } and len(states) == 7

    assert main(["cache", "--unused-days", "5"]) == 0  # lists only, deletes nothing
    assert "5 of 7 entries" in capsys.readouterr().out and len(cache.cache_entries()) == 7
    assert main(["cache", "--stale", "--clear"]) == 0
    assert "deleted 4 of 7 entries" in capsys.readouterr().out  # never a write in progress
    assert sorted(e.state for e in cache.cache_entries()) == ["being written", "being written", "ok"]
    assert len(load_dataset(tmp_path / "a", resolution=16, cache=True)) == 5  # the kept entry still serves
    assert main(["cache", "--clear"]) == 0
    assert [e.state for e in cache.cache_entries()] == ["being written", "being written"]
    assert main(["cache", "--unused-days", "-1"]) == 2
