"""CIFAR-10/100 (binary, python, tarballs) in tiny files of the official layouts; hostile pickles refused."""

import os
import pickle
import tarfile

import numpy as np
import pytest

from dcgan import DCGANError, load_dataset

RNG = np.random.default_rng(0)
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _batches(n_batches: int, per_batch: int, classes: int):
    """Seeded (images (n, 3, 32, 32), labels) per batch."""
    return [
        (RNG.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8), RNG.integers(0, classes, per_batch))
        for _ in range(n_batches)
    ]


def _py2_pickle(obj) -> bytes:
    """A protocol-2 pickle naming numpy as the official (Python 2, numpy 1) files do."""
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def write_cifar10(root, train, test, binary: bool):
    folder = root / ("cifar-10-batches-bin" if binary else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    for name, (images, labels) in [*((f"data_batch_{i + 1}", b) for i, b in enumerate(train)), ("test_batch", test)]:
        if binary:
            rows = np.concatenate([labels[:, None].astype(np.uint8), images.reshape(len(images), -1)], axis=1)
            (folder / f"{name}.bin").write_bytes(rows.tobytes())
        else:
            batch = {b"batch_label": b"x", b"labels": labels.tolist(), b"data": images.reshape(len(images), -1)}
            (folder / name).write_bytes(_py2_pickle(batch))
    if binary:
        (folder / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES) + "\n\n")
    else:
        (folder / "batches.meta").write_bytes(_py2_pickle({b"label_names": [n.encode() for n in CIFAR10_NAMES]}))
    return folder


def test_cifar10_binary_python_and_tarball_agree(tmp_path):
    train, test = _batches(5, 4, 10), _batches(1, 3, 10)[0]
    bin_folder = write_cifar10(tmp_path / "bin", train, test, binary=True)
    write_cifar10(tmp_path / "py", train, test, binary=False)
    (tmp_path / "downloaded").mkdir()
    with tarfile.open(tmp_path / "downloaded" / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(bin_folder, arcname="cifar-10-batches-bin")
    expected = np.concatenate([b[0] for b in train])
    tarball = tmp_path / "downloaded" / "cifar-10-binary.tar.gz"
    for source in (tmp_path / "bin", bin_folder, tmp_path / "py", tarball, tarball.parent):
        data = load_dataset(source)
        assert data.images.shape == (20, 3, 32, 32) and (data.images.numpy() == expected).all()
        assert data.labels.tolist() == np.concatenate([b[1] for b in train]).tolist()
        assert data.class_names == CIFAR10_NAMES
        test_data = load_dataset(source, split="test")
        assert (test_data.images.numpy() == test[0]).all() and test_data.labels.tolist() == test[1].tolist()
    small = load_dataset(tmp_path / "py", resolution=16, channels=1, limit=5)
    assert small.images.shape == (5, 1, 16, 16)
    with pytest.raises(DCGANError, match="no split"):
        load_dataset(bin_folder, split="extra")


def test_cifar100_binary_and_python_use_fine_labels(tmp_path):
    (images, fine), coarse = _batches(1, 6, 100)[0], RNG.integers(0, 20, 6)
    fine_names = [f"class{i}" for i in range(100)]
    binary = tmp_path / "cifar-100-binary"
    binary.mkdir()
    rows = np.concatenate([coarse[:, None], fine[:, None], images.reshape(6, -1)], axis=1).astype(np.uint8)
    for name in ("train.bin", "test.bin"):
        (binary / name).write_bytes(rows.tobytes())
    (binary / "fine_label_names.txt").write_text("\n".join(fine_names))
    python = tmp_path / "cifar-100-python"
    python.mkdir()
    batch = {b"fine_labels": fine.tolist(), b"coarse_labels": coarse.tolist(), b"data": images.reshape(6, -1)}
    for name in ("train", "test"):
        (python / name).write_bytes(_py2_pickle(batch))
    (python / "meta").write_bytes(_py2_pickle({b"fine_label_names": [n.encode() for n in fine_names]}))
    for source in (binary, python):
        data = load_dataset(source)
        assert (data.images.numpy() == images).all() and data.labels.tolist() == fine.tolist()
        assert data.class_names == fine_names


class _Hostile:
    def __reduce__(self):
        return (os.system, ("touch HACKED",))


def test_hostile_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train, test = _batches(5, 2, 10), _batches(1, 2, 10)[0]
    folder = write_cifar10(tmp_path, train, test, binary=False)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": _Hostile(), b"labels": [0]}, protocol=2))
    with pytest.raises(DCGANError, match=r"refusing to load posix\.system"):
        load_dataset(tmp_path)
    assert not (tmp_path / "HACKED").exists()
    (folder / "data_batch_3").write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DCGANError, match="not a CIFAR batch dict"):
        load_dataset(tmp_path)


def test_truncated_and_incomplete_cifar_are_refused(tmp_path):
    folder = write_cifar10(tmp_path, _batches(5, 2, 10), _batches(1, 2, 10)[0], binary=True)
    blob = (folder / "data_batch_2.bin").read_bytes()
    (folder / "data_batch_2.bin").write_bytes(blob[:-100])
    with pytest.raises(DCGANError, match="truncated"):
        load_dataset(tmp_path)
    (folder / "data_batch_2.bin").unlink()
    with pytest.raises(DCGANError, match=r"lacks data_batch_2\.bin"):
        load_dataset(tmp_path)
