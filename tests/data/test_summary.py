"""What was read, said first: the data summary, and --limit as a seeded subset with every class in its share."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import blobs, write_images
from dcgan import ImageData, load_dataset
from dcgan.data import cache
from dcgan.data.formats.folder import class_labels
from dcgan.data.source import limit_rows
from dcgan.data.summary import format_summary, summarize
from dcgan.errors import DCGANWarning


def test_summary_counts_classes_and_names_the_run_folder():
    data = replace(blobs(50, resolution=16, channels=3), source="blobs")
    summary = summarize(data)
    small = int((data.labels == 0).sum())
    assert summary == {
        "source": "blobs",
        "images": 50,
        "resolution": 16,
        "channels": 3,
        "skipped": 0,
        "classes": {"small": small, "large": 50 - small},
    }
    text = format_summary(summary, "runs/x")
    assert text.splitlines() == [
        "data: 50 images, 16x16 RGB (centre square crop), from blobs",
        f"  2 classes: small {small}, large {50 - small}",
        "  run folder: runs/x",
    ]
    unlabelled = ImageData(torch.zeros(3, 1, 8, 8, dtype=torch.uint8), source="x")
    assert "no classes" in format_summary(summarize(unlabelled)) and "grey" in format_summary(summarize(unlabelled))


def test_summary_says_the_landmarks_are_there():
    names = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]
    faces = ImageData(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), landmarks=torch.zeros(2, 5, 2), landmark_names=names)
    summary = summarize(faces)
    assert summary["landmarks"] == names
    assert "  5 landmarks per image: left_eye, right_eye, nose, left_mouth, right_mouth" in format_summary(summary)
    assert "landmarks" not in summarize(blobs(4)) and "landmarks" not in format_summary(summarize(blobs(4)))


def test_limit_is_seeded_sorted_and_stratified():
    labels = np.repeat([0, 1, 2], [600, 300, 100])  # sorted by class, as folders are
    rows = limit_rows(labels, 1000, 100)
    assert len(rows) == 100 and len(set(rows.tolist())) == 100 and (np.diff(rows) > 0).all()
    assert np.bincount(labels[rows]).tolist() == [60, 30, 10]  # each class in its share
    assert (rows == limit_rows(labels, 1000, 100)).all()  # the same --limit, the same images
    odd = limit_rows(labels, 1000, 7)  # shares 4.2, 2.1, 0.7: largest remainder rounds the last up
    assert np.bincount(labels[odd], minlength=3).tolist() == [4, 2, 1]
    plain = limit_rows(None, 1000, 10)
    assert len(plain) == 10 and plain.max() > 10  # unlabelled: a random subset, not the first rows


def test_limit_warns_when_a_class_gets_no_image():
    labels = np.repeat([0, 1], [990, 10])
    with pytest.warns(DCGANWarning, match=r"--limit 20 leaves out 1 class\(es\): rare") as caught:
        rows = limit_rows(labels, 1000, 20, ["common", "rare"])
    assert "at least 100" in str(caught[0].message) and (labels[rows] == 0).all()


def test_limit_on_a_sorted_folder_sees_every_class_and_reuses_the_cached_full_set(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_CACHE", str(tmp_path / "cache"))
    specs = [(f"{c}/{i:02d}.png", "RGB", (16, 16)) for c in ("a", "b", "c") for i in range(10)]
    write_images(tmp_path / "imgs", specs)
    full = load_dataset(tmp_path / "imgs", resolution=16, cache=True)
    part = load_dataset(tmp_path / "imgs", resolution=16, limit=6, cache=True)
    assert len(list((cache.cache_root() / "prepared").iterdir())) == 1  # one decoded copy serves both
    assert part.labels.tolist() == [0, 0, 1, 1, 2, 2] and part.class_names == ["a", "b", "c"]
    rows = limit_rows(full.labels.numpy(), 30, 6)
    assert torch.equal(part.images, full.images[torch.from_numpy(rows)])
    assert summarize(part)["classes"] == {"a": 2, "b": 2, "c": 2}


def test_a_split_without_some_class_warns(tmp_path):
    specs = [(f"train/{c}/{i}.png", "RGB", (16, 16)) for c in ("a", "b") for i in range(2)]
    write_images(tmp_path / "imgs", [*specs, ("test/a/0.png", "RGB", (16, 16)), ("test/a/1.png", "RGB", (16, 16))])
    with pytest.warns(DCGANWarning, match=r"'test' split .* no images of 1 class\(es\): b"):
        load_dataset(tmp_path / "imgs", resolution=16, split="test")
    assert class_labels(["train/a/0.png", "test/b/0.png"])["class_names"] == ["a", "b"]
