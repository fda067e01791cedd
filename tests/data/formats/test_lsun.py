"""LSUN: tiny LMDB databases in the official layout (webp and jpeg values), streamed."""

import io

import lmdb
import numpy as np
import pytest
from PIL import Image

from dcgan import DCGANError, load_dataset
from dcgan.data import prepare_dataset
from dcgan.data.imaging import fit_image
from dcgan.data.source import limit_rows


def write_lmdb(folder, count: int, fmt: str, seed: int = 0) -> list[bytes]:
    """``count`` seeded photos-like images (smooth gradients + noise) of LSUN-like sizes, as the values."""
    rng = np.random.default_rng(seed)
    values = []
    env = lmdb.open(str(folder), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i in range(count):
            w, h = int(rng.integers(40, 60)), int(rng.integers(20, 33))
            base = np.linspace(0, 200, w)[None, :, None] + rng.integers(0, 50, (h, w, 3))
            buf = io.BytesIO()
            Image.fromarray(base.astype(np.uint8)).save(buf, fmt, quality=90)
            values.append(buf.getvalue())
            txn.put(f"{seed:02d}{i:038x}".encode(), buf.getvalue())  # 40-character keys, as the official ones
    env.close()
    return values


def _expected(values, resolution=16):
    return np.stack([fit_image(Image.open(io.BytesIO(v)), resolution, 3) for v in values])


def test_lsun_webp_and_jpeg_databases(tmp_path):
    bedrooms = write_lmdb(tmp_path / "bedroom_train_lmdb", 7, "WEBP")
    data = load_dataset(tmp_path / "bedroom_train_lmdb", resolution=16)
    assert data.images.shape == (7, 3, 16, 16) and data.labels is None
    assert (data.images.numpy() == _expected(bedrooms)).all()
    towers = write_lmdb(tmp_path / "tower_train_lmdb", 3, "JPEG", seed=1)
    both = load_dataset(tmp_path, resolution=16)
    assert both.class_names == ["bedroom", "tower"] and both.labels.tolist() == [0] * 7 + [1] * 3
    assert (both.images.numpy() == _expected(bedrooms + towers)).all()
    assert load_dataset(tmp_path / "tower_train_lmdb").images.shape == (3, 3, 32, 32)  # default: short side 20-32 -> 32


def test_lsun_streams_into_a_prepared_set(tmp_path):
    values = write_lmdb(tmp_path / "db", 600, "WEBP")  # more than two decode chunks
    prepare_dataset(tmp_path / "db", tmp_path / "set", resolution=16, limit=520)
    picked = [values[i] for i in limit_rows(None, 600, 520)]  # --limit: a seeded random 520, in order
    assert (load_dataset(tmp_path / "set").images.numpy() == _expected(picked)).all()


def test_lsun_bad_values_and_empty_databases(tmp_path):
    write_lmdb(tmp_path / "db", 3, "WEBP")
    env = lmdb.open(str(tmp_path / "db"), map_size=1 << 24)
    with env.begin(write=True) as txn:
        txn.put(b"zz-broken", b"RIFF\x00\x00\x00\x00WEBPVP8 truncated")
    env.close()
    with pytest.raises(DCGANError, match=r"1 of 4 image files .* cannot be read:\n    zz-broken"):
        load_dataset(tmp_path / "db", resolution=16)
    assert len(load_dataset(tmp_path / "db", resolution=16, skip_bad=True)) == 3
    lmdb.open(str(tmp_path / "empty"), map_size=1 << 20).close()
    with pytest.raises(DCGANError, match="are empty"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DCGANError, match="one split each"):
        load_dataset(tmp_path / "db", split="test")
