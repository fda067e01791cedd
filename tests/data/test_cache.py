"""The training cache: prepared copies keyed by source and options, listed and evicted by dcgan cache."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np

from conftest import CELEBA_ATTRS, is_file_mapped, same_data, write_celeba, write_images
from dcgan import load_dataset
from dcgan.cli import main
from dcgan.data import SourceOptions, cache, prepare_dataset, prepared


def test_training_cache_is_keyed_by_source_and_options(tmp_path):
    write_images(tmp_path / "imgs", [(f"{i}.png", "RGB", (16, 16)) for i in range(6)])
    cache_dir = cache.cache_root() / "prepared"
    before = set(cache_dir.iterdir()) if cache_dir.exists() else set()
    first = load_dataset(tmp_path / "imgs", resolution=16, cache=True)
    again = load_dataset(tmp_path / "imgs", resolution=16, cache=True)
    made = set(cache_dir.iterdir()) - before
    assert len(made) == 1 and is_file_mapped(again.images, next(iter(made)) / prepared.IMAGES)
    same_data(first, load_dataset(tmp_path / "imgs", resolution=16))
    load_dataset(tmp_path / "imgs", resolution=32, cache=True)  # other options: another copy
    write_images(tmp_path / "imgs", [("new.png", "RGB", (16, 16))], seed=1)  # the source changed: another copy
    assert len(load_dataset(tmp_path / "imgs", resolution=16, cache=True)) == 7
    assert len(set(cache_dir.iterdir()) - before) == 3


def test_an_entry_prepared_before_landmarks_is_not_served_for_a_source_that_has_them(tmp_path):
    """Such entries exist (CelebA cached by a dcgan without landmarks from the zip that has them): served, they
    would load without landmarks; the key names the per-image files, so the source is prepared anew."""
    points = np.random.default_rng(0).integers(40, 160, (5, 5, 2))
    write_celeba(tmp_path / "celeba", CELEBA_ATTRS, landmarks=points)
    provenance = {"source": prepared.fingerprint(tmp_path / "celeba"), "options": SourceOptions(16).to_dict()}
    before_landmarks = json.dumps(provenance | {"version": prepared.FORMAT_VERSION}, sort_keys=True)  # the old key
    old_entry = cache.cache_root() / "prepared" / hashlib.sha256(before_landmarks.encode()).hexdigest()[:20]
    prepare_dataset(tmp_path / "celeba", old_entry, resolution=16)
    (old_entry / "landmarks.npy").unlink()  # as the older dcgan wrote it
    cached = load_dataset(tmp_path / "celeba", resolution=16, cache=True)
    assert cached.landmarks is not None and not is_file_mapped(cached.images, old_entry / prepared.IMAGES)
    same_data(cached, load_dataset(tmp_path / "celeba", resolution=16))


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
