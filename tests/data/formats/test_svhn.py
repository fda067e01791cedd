"""SVHN cropped digits: .mat files of the official layout."""

import numpy as np
import pytest
import scipy.io

from dcgan import DCGANError, load_dataset

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
