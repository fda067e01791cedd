"""MNIST and Fashion-MNIST IDX files: the real ones (../shared/data, skipped when absent) and generated ones."""

import gzip

import numpy as np
import pytest
import torch

from conftest import shared_data
from dcgan import DCGANError, load_dataset
from dcgan.data.formats import idx
from dcgan.data.source import limit_rows

RNG = np.random.default_rng(0)
OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_real_mnist_idx_gz():
    data = load_dataset(shared_data("mnist"), resolution=32)
    assert data.images.shape == (60000, 1, 32, 32) and data.images.dtype == torch.uint8
    assert data.labels.bincount().tolist() == OFFICIAL_TRAIN_COUNTS
    assert data.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the official order
    native = load_dataset(shared_data("mnist"), resolution=16, limit=10)
    assert native.images.shape == (10, 1, 16, 16)


def test_real_mnist_single_file_and_native_size():
    path = shared_data("mnist") / "t10k-images-idx3-ubyte.gz"
    data, full = load_dataset(path, limit=100), load_dataset(path)
    assert data.images.shape == (100, 1, 32, 32)  # 28 rounds up to 32
    assert full.labels[:3].tolist() == [7, 2, 1]
    rows = torch.from_numpy(limit_rows(full.labels.numpy(), len(full), 100))  # --limit: seeded, stratified
    assert torch.equal(data.images, full.images[rows]) and torch.equal(data.labels, full.labels[rows])


def _write_idx(path, array: np.ndarray, compress=True):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    blob = header + array.astype(np.uint8).tobytes()
    (gzip.open if compress else open)(path, "wb").write(blob)
    return blob


def test_generated_idx_plain_and_gz_agree(tmp_path):
    arr = np.random.default_rng(0).integers(0, 255, (7, 28, 28), dtype=np.uint8)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write_idx(tmp_path / "a" / "train-images-idx3-ubyte.gz", arr)
    _write_idx(tmp_path / "b" / "train-images-idx3-ubyte", arr, compress=False)
    _write_idx(tmp_path / "b" / "train-labels-idx1-ubyte", np.arange(7), compress=False)
    a, b = load_dataset(tmp_path / "a", resolution=32), load_dataset(tmp_path / "b", resolution=32)
    assert torch.equal(a.images, b.images) and a.labels is None and b.labels.tolist() == list(range(7))
    native = load_dataset(tmp_path / "b", resolution=32, channels=1)
    assert native.images.shape == (7, 1, 32, 32)


def test_truncated_and_foreign_idx_are_refused(tmp_path):
    arr = np.zeros((5, 28, 28), dtype=np.uint8)
    blob = _write_idx(tmp_path / "train-images-idx3-ubyte", arr, compress=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(blob[:-10])
    with pytest.raises(DCGANError, match="truncated"):
        load_dataset(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(DCGANError, match="bad magic"):
        load_dataset(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b broken gzip")
    with pytest.raises(DCGANError, match="corrupt or truncated"):
        load_dataset(tmp_path)


def test_fashion_mnist_idx_gets_its_class_names_and_test_split(tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for prefix, n in (("train", 6), ("t10k", 2)):
        for kind, array in (("images-idx3", RNG.integers(0, 256, (n, 28, 28))), ("labels-idx1", np.arange(n))):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
            with gzip.open(folder / f"{prefix}-{kind}-ubyte.gz", "wb") as fh:
                fh.write(header + array.astype(np.uint8).tobytes())
    data = load_dataset(folder)
    assert data.class_names == idx.FASHION_CLASSES and data.labels.tolist() == list(range(6))
    test = load_dataset(folder, split="test")
    assert len(test) == 2 and test.images.shape == (2, 1, 32, 32)


def test_real_mnist_test_split():
    data = load_dataset(shared_data("mnist"), split="test")
    assert len(data) == 10000 and data.labels.bincount().tolist()[:3] == [980, 1135, 1032]
