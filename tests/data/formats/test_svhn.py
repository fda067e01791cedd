"""SVHN cropped digits: .mat files of the official layout."""

import numpy as np
import pytest
import scipy.io

from dcgan import DCGANError, load_dataset
from dcgan.data.formats import matlab

RNG = np.random.default_rng(0)


def test_svhn_mat_maps_label_10_to_digit_0(tmp_path):
    digits = {"train": np.array([1, 10, 3, 10, 9]), "test": np.array([10, 2]), "extra": np.array([5])}
    pixels = {}
    for split, y in digits.items():
        pixels[split] = RNG.integers(0, 256, (32, 32, 3, len(y)), dtype=np.uint8)
        scipy.io.savemat(tmp_path / f"{split}_32x32.mat", {"X": pixels[split], "y": y[:, None].astype(np.uint8)})
    data = load_dataset(tmp_path)
    assert data.labels.tolist() == [1, 0, 3, 0, 9] and data.class_names == [str(d) for d in range(10)]
    assert (data.images.numpy() == pixels["train"].transpose(3, 2, 0, 1)).all()
    assert load_dataset(tmp_path, split="test").labels.tolist() == [0, 2]
    assert load_dataset(tmp_path / "extra_32x32.mat").labels.tolist() == [5]
    for broken in (b"MATLAB 5.0 MAT-file, truncated", (tmp_path / "train_32x32.mat").read_bytes()[:3000]):
        (tmp_path / "test_32x32.mat").write_bytes(broken)
        with pytest.raises(DCGANError, match="cannot read SVHN file"):
            load_dataset(tmp_path, split="test")


@pytest.mark.parametrize("compressed", [False, True])
def test_the_mat_reader_reads_what_scipy_writes_and_skips_other_variables(tmp_path, compressed):
    X = RNG.integers(0, 256, (32, 32, 3, 3), dtype=np.uint8)
    y = np.array([[10.0], [4.0], [7.0]])  # MATLAB's own files store the labels as double
    other = {"note": "text", "cells": np.array([1, "a"], dtype=object), "complex": np.ones(2) * 1j}
    scipy.io.savemat(tmp_path / "train_32x32.mat", {**other, "X": X, "y": y}, do_compression=compressed)
    arrays = matlab.read_arrays(tmp_path / "train_32x32.mat", ("X", "y", "complex"))
    assert set(arrays) == {"X", "y"} and (arrays["X"] == X).all() and (arrays["y"] == y).all()
    assert load_dataset(tmp_path).labels.tolist() == [0, 4, 7]
