"""Loaders on real files (../shared/data, skipped when absent) and on generated folders and zips."""

import gzip
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import shared_data, write_images
from dcgan import DCGANError, load_dataset
from dcgan.data import bundled_mnist_path
from dcgan.data.imaging import auto_resolution, fit_image

OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_real_mnist_idx_gz():
    data = load_dataset(shared_data("mnist"), resolution=32)
    assert data.images.shape == (60000, 1, 32, 32) and data.images.dtype == torch.uint8
    assert data.labels.bincount().tolist() == OFFICIAL_TRAIN_COUNTS
    assert data.labels[:5].tolist() == [5, 0, 4, 1, 9]  # the official order
    native = load_dataset(shared_data("mnist"), resolution=16, limit=10)
    assert native.images.shape == (10, 1, 16, 16)


def test_real_mnist_single_file_and_native_size():
    data = load_dataset(shared_data("mnist") / "t10k-images-idx3-ubyte.gz", limit=100)
    assert data.images.shape == (100, 1, 32, 32)  # 28 rounds up to 32
    assert data.labels[:3].tolist() == [7, 2, 1]


def test_bundled_sample_is_real_mnist():
    data = load_dataset()
    assert data.images.shape == (30000, 1, 32, 32)
    assert data.labels.bincount().tolist() == [2961, 3423, 2948, 3073, 2926, 2709, 2975, 3107, 2875, 3003]
    assert (bundled_mnist_path() / "ATTRIBUTION.md").is_file()
    mnist = shared_data("mnist")
    real = load_dataset(mnist, limit=30000)
    assert torch.equal(real.images, data.images) and torch.equal(real.labels, data.labels)


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


def test_centre_crop_and_resize():
    # a 40x20 image: left quarter black, middle half white, right quarter black;
    # the centred 20x20 square is the white middle
    arr = np.zeros((20, 40), dtype=np.uint8)
    arr[:, 10:30] = 255
    out = fit_image(Image.fromarray(arr), 16, 1)
    # (bicubic weights reach one source pixel past the crop box, so edge columns dim slightly)
    assert out.shape == (1, 16, 16) and out[..., 1:-1].min() == 255 and out.min() > 240
    tall = fit_image(Image.fromarray(arr.T.copy()), 16, 3)
    assert tall.shape == (3, 16, 16) and tall[:, 1:-1].min() == 255 and tall.min() > 240
    assert auto_resolution(28, 28) == 32 and auto_resolution(89, 109) == 64 and auto_resolution(10, 10) == 16


def test_image_folder_of_mixed_modes_and_sizes_with_class_labels(tmp_path):
    specs = [
        ("cats/a.png", "RGB", (40, 30)),
        ("cats/b.jpg", "L", (16, 16)),
        ("dogs/c.png", "RGBA", (64, 80)),
        ("dogs/d.png", "P", (33, 33)),
        ("dogs/sub/e.png", "I;16", (20, 24)),
    ]
    write_images(tmp_path / "imgs", specs)
    data = load_dataset(tmp_path / "imgs", resolution=16, channels=3)
    assert data.images.shape == (5, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.class_names == ["cats", "dogs", "sub"]
    assert data.labels.tolist() == [0, 0, 1, 1, 2]
    grey = load_dataset(tmp_path / "imgs", resolution=32, channels=1)
    assert grey.images.shape == (5, 1, 32, 32)
    # 16-bit grey is rescaled, not clipped to white
    assert 40 < grey.images[4].float().mean() < 215


def test_zip_gives_the_same_pixels_as_the_folder(tmp_path):
    paths = write_images(tmp_path / "imgs", [(f"x/{i}.png", "RGB", (20 + i, 24)) for i in range(6)])
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        for p in paths:
            zf.write(p, f"top/{p.relative_to(tmp_path / 'imgs')}")
    a = load_dataset(tmp_path / "imgs", resolution=16)
    b = load_dataset(tmp_path / "imgs.zip", resolution=16)
    assert torch.equal(a.images, b.images)
    assert a.channels == 3 and a.resolution == 16


def test_empty_and_missing_sources(tmp_path):
    with pytest.raises(DCGANError, match="does not exist"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DCGANError, match="no image files found"):
        load_dataset(tmp_path / "empty")
    zipfile.ZipFile(tmp_path / "empty.zip", "w").close()
    with pytest.raises(DCGANError, match="no image files found"):
        load_dataset(tmp_path / "empty.zip")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(DCGANError, match="not a readable zip"):
        load_dataset(tmp_path / "broken.zip")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DCGANError, match="not a dataset dcgan can read"):
        load_dataset(tmp_path / "notes.txt")


def test_corrupt_images_fail_with_a_list_or_are_skipped(tmp_path):
    write_images(tmp_path, [(f"ok{i}.png", "RGB", (16, 16)) for i in range(3)])
    (tmp_path / "bad1.png").write_bytes(b"\x89PNG garbage")
    good = (tmp_path / "ok0.png").read_bytes()
    (tmp_path / "bad2.jpg").write_bytes(good[: len(good) // 3])  # truncated
    with pytest.raises(DCGANError) as err:
        load_dataset(tmp_path, resolution=16)
    message = str(err.value)
    assert (
        "2 of 5 image files" in message and "bad1.png" in message and "bad2.jpg" in message and "--skip-bad" in message
    )
    data = load_dataset(tmp_path, resolution=16, skip_bad=True)
    assert len(data) == 3 and data.skipped == 2
    for p in tmp_path.glob("ok*.png"):
        p.unlink()
    with pytest.raises(DCGANError, match=r"none of the first 2 image files .* can be read"):
        load_dataset(tmp_path, resolution=16, skip_bad=True)


def test_a_folder_inside_a_zip_selects_a_split(tmp_path):
    paths = write_images(
        tmp_path / "d",
        [(f"set/{split}/{c}/{i}.png", "RGB", (16, 16)) for split in ("train", "test") for c in "ab" for i in range(3)],
    )
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for p in paths:
            zf.write(p, p.relative_to(tmp_path / "d").as_posix())
    train = load_dataset(tmp_path / "d.zip" / "set" / "train", resolution=16)
    assert len(train) == 6 and train.class_names == ["a", "b"] and train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert len(load_dataset(tmp_path / "d.zip", resolution=16)) == 12
    with pytest.raises(DCGANError, match="no image files found"):
        load_dataset(tmp_path / "d.zip" / "set" / "validation", resolution=16)


def test_real_cifar10_zip_split():
    data = load_dataset(shared_data("cifar10-jpg.zip") / "cifar10" / "test", limit=500)
    assert data.images.shape == (500, 3, 32, 32) and len(data.class_names) >= 1
