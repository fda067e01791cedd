"""LSUN: tiny LMDB databases in the official layout (webp and jpeg values), streamed; the real bedrooms of
../shared/data read from a read-only copy of their LMDB and from the layout of LSUN's export script."""

import hashlib
import io
import os
import shutil
from pathlib import Path

import lmdb
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import shared_data
from dcgan import DCGANError, load_dataset
from dcgan.data import prepare_dataset
from dcgan.data.formats import lsun
from dcgan.data.formats.folder import Tree
from dcgan.data.imaging import decode_image, fit_image
from dcgan.data.source import limit_rows

BEDROOMS_ZIP, BEDROOMS_LMDB = "lsun-bedroom-9k.zip", "lsun-bedroom-300_lmdb"


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


def test_one_database_read_by_two_sources_in_one_process(tmp_path):
    """LMDB refuses to open a file twice in a process ("already open"): a second source shares the first's."""
    values = write_lmdb(tmp_path / "db", 3, "WEBP")
    first = lsun.open_source(tmp_path / "db", 16, 3)
    second = load_dataset(tmp_path / "db", resolution=16)
    assert (second.images.numpy() == _expected(values)).all()
    assert (np.stack(first.decode([0, 1, 2])) == _expected(values)).all()


def _zip_bedrooms(keys: list[str], resolution: int = 64) -> torch.Tensor:
    """The bedrooms of the 9,000-image zip with these LSUN keys, centre-cropped to ``resolution``."""
    tree = Tree(shared_data(BEDROOMS_ZIP))
    return torch.from_numpy(
        np.stack([fit_image(decode_image(tree.read(f"lsun-bedroom/{k}.jpg")), resolution, 3) for k in keys])
    )


def _state(folder: Path) -> dict[str, tuple]:
    """Each entry of ``folder`` (and the folder itself): size, mode, mtime and content digest."""
    state = {}
    for name, path in {".": folder, **{p.name: p for p in folder.iterdir()}}.items():
        stat = path.stat()
        digest = path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest()
        state[name] = (stat.st_size, stat.st_mode, stat.st_mtime_ns, digest)
    return state


def _held_open(folder: Path) -> tuple[set[tuple[str, int]], list[str]]:
    """The files of ``folder`` this process holds open, with each descriptor's access mode (O_RDONLY...), and the
    permissions of its memory maps of them (Linux /proc): what a read did, whoever runs it (root ignores chmod)."""
    modes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = Path(os.readlink(fd))
            info = Path(f"/proc/self/fdinfo/{fd.name}").read_text()
        except OSError:  # closed since the listing (the listing's own descriptor)
            continue
        if target.parent == folder:
            modes.add((target.name, int(info.split("flags:")[1].split()[0], 8) & os.O_ACCMODE))
    maps = [line.split()[1] for line in Path("/proc/self/maps").read_text().splitlines() if str(folder) in line]
    return modes, maps


def test_real_bedrooms_lmdb_read_only_no_lock_same_pictures_as_the_zip(tmp_path):
    """The 300 real WebP bedrooms, from a read-only copy of their LMDB: nothing written (no lock file, the same
    listing, mtimes and bytes), data.mdb opened and mapped read-only, lock.mdb never opened; each image is the
    zip's image of the same key (after resizing both to 64x64), and nearer to it than to any other of the 300."""
    copy = tmp_path / "bedroom_train_lmdb"
    shutil.copytree(shared_data(BEDROOMS_LMDB), copy)
    for path in copy.iterdir():
        path.chmod(0o444)
    copy.chmod(0o555)
    copy = copy.resolve()
    try:
        before = _state(copy)
        source = lsun.open_source(copy, 64, 3)
        if Path("/proc/self/fdinfo").is_dir():
            modes, maps = _held_open(copy)
            assert modes == {("data.mdb", os.O_RDONLY)} and maps and all("w" not in perms for perms in maps)
        data = load_dataset(copy, resolution=64)
        with lsun._open(copy).begin() as txn:  # the source's environment: LMDB opens a file once per process
            keys = [key.decode() for key in txn.cursor().iternext(values=False)]
            assert Image.open(io.BytesIO(txn.get(keys[0].encode()))).format == "WEBP"
        assert _state(copy) == before and source.count == 300
    finally:
        copy.chmod(0o755)
    assert data.images.shape == (300, 3, 64, 64) and data.labels is None and len(set(keys)) == 300
    lmdb_images, zip_images = data.images.flatten(1).float(), _zip_bedrooms(keys).flatten(1).float()
    same_key = (lmdb_images - zip_images).abs().mean(dim=1)
    assert same_key.max() < 6  # 1.8 on average, 3.6 at most: WebP at 256 px against JPEG at 128 px
    # among these 300 only: the zip holds exact duplicates of some (its 142nd and 4256th images are one photo)
    assert torch.equal(torch.cdist(lmdb_images, zip_images).argmin(dim=1), torch.arange(300))


def test_real_bedrooms_in_the_export_layout_read_as_one_unlabelled_folder(tmp_path):
    """LSUN's export script writes a/b/c/d/e/f/<key>.webp: a folder of images, whose six levels of one-character
    folders are not 16 or thousands of classes."""
    tree = Tree(shared_data(BEDROOMS_ZIP))
    keys = [Path(name).stem for name in tree.files[::750]]  # 12 keys, spread over the sorted key space
    for key in keys:
        path = tmp_path / "export" / "/".join(key[:6]) / f"{key}.webp"
        path.parent.mkdir(parents=True)
        decode_image(tree.read(f"lsun-bedroom/{key}.jpg")).save(path, "WEBP", quality=90)
    for class_folder in ("top", "innermost"):
        data = load_dataset(tmp_path / "export", resolution=64, class_folder=class_folder)
        assert len(data) == 12 and data.labels is None and data.class_names == []
    difference = (data.images.float() - _zip_bedrooms(keys).float()).abs().mean(dim=(1, 2, 3))
    assert difference.max() < 6  # the same pictures, in key order
