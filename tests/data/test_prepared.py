"""Prepared sets (dcgan prepare): the same pixels as direct loading, memory-mapped, conflicting options refused."""

import json
import sys

import numpy as np
import pytest

from conftest import CELEBA_ATTRS, is_file_mapped, same_data, shared_data, write_celeba, write_images
from dcgan import DCGANError, load_dataset
from dcgan.data import prepare_dataset, prepared


def test_prepare_then_load_equals_direct_loading(tmp_path):
    write_images(
        tmp_path / "imgs", [(f"{c}/{i}.png", m, (20 + i, 30)) for c in "ab" for i, m in enumerate(["L", "RGB", "P"])]
    )
    write_celeba(tmp_path / "celeba", CELEBA_ATTRS)
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
        same_data(loaded, load_dataset(src, **options))
        if sys.platform.startswith("linux"):
            assert is_file_mapped(loaded.images, out / prepared.IMAGES)  # memory-mapped, not copied
        manifest = json.loads((out / prepared.MANIFEST).read_text())
        assert manifest["source"]["path"] == str(src.resolve()) and manifest["count"] == len(loaded)
    celeba_set = tmp_path / "prepared" / "celeba-1"
    same_data(
        load_dataset(celeba_set, where="Male=-1"),
        load_dataset(tmp_path / "celeba", resolution=16, where="Smiling=1,Male=-1"),
    )
    same_data(
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


def test_two_processes_preparing_one_cache_entry_both_get_it(tmp_path, monkeypatch):
    """Another writer (two trainings started at once on one source) finishes while this one decodes:
    this one uses theirs, where it used to fail with a traceback."""
    write_images(tmp_path / "imgs", [(f"{i}.png", "RGB", (16, 16)) for i in range(4)])
    theirs, out = prepare_dataset(tmp_path / "imgs", tmp_path / "theirs", resolution=16), tmp_path / "entry"
    decode = prepared.decode_into

    def finished_by_another(*args):
        theirs.rename(out)
        return decode(*args)

    monkeypatch.setattr(prepared, "decode_into", finished_by_another)
    assert prepare_dataset(tmp_path / "imgs", out, resolution=16) == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry", "imgs"]  # no partial copy left behind
    same_data(load_dataset(out), load_dataset(tmp_path / "imgs", resolution=16))


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


def test_landmarks_are_prepared_and_sets_prepared_before_them_still_load(tmp_path):
    points = np.random.default_rng(0).integers(40, 160, (5, 5, 2))
    write_celeba(tmp_path / "celeba", CELEBA_ATTRS, landmarks=points)
    out = prepare_dataset(tmp_path / "celeba", tmp_path / "set", resolution=16)
    same_data(load_dataset(out), load_dataset(tmp_path / "celeba", resolution=16))
    manifest = json.loads((out / prepared.MANIFEST).read_text())
    assert manifest["landmark_names"] == ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]
    assert np.load(out / "landmarks.npy").shape == (5, 5, 2)
    # written before landmarks existed: no landmarks.npy, no landmark_names in the manifest
    (out / "landmarks.npy").unlink()
    (out / prepared.MANIFEST).write_text(json.dumps({k: v for k, v in manifest.items() if k != "landmark_names"}))
    older = load_dataset(out, where="Smiling=1")
    assert (
        older.landmarks is None
        and older.landmark_names == []
        and older.attributes.tolist() == [CELEBA_ATTRS[i] for i in (0, 1, 4)]
    )
    np.save(out / "landmarks.npy", np.zeros((4, 5, 2), dtype=np.float32))
    with pytest.raises(DCGANError, match=r"landmarks\.npy is \(4, 5, 2\), not a row for each of the 5 images"):
        load_dataset(out)
    np.save(out / "landmarks.npy", np.float32(0.5))  # no rows at all
    with pytest.raises(DCGANError, match=r"landmarks\.npy is \(\)"):
        load_dataset(out)
    (out / prepared.MANIFEST).write_text(json.dumps(manifest | {"landmark_names": "left_eye"}))
    with pytest.raises(DCGANError, match="damaged: landmark_names"):
        load_dataset(out)


def test_real_cifar10_prepared_equals_direct(tmp_path):
    zip_path = shared_data("cifar10-jpg.zip")
    prepare_dataset(zip_path, tmp_path / "c10", resolution=32, split="test", limit=2000)
    same_data(load_dataset(tmp_path / "c10"), load_dataset(zip_path, resolution=32, split="test", limit=2000))
