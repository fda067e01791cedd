"""Random bytes and mutated headers thrown at every loader: each must load or refuse with one DCGANError,
never crash (another exception), hang or allocate without bound (docs/reliability.md).

A bounded, derandomized run is part of the suite; a longer one is
``DCGAN_FUZZ_EXAMPLES=2000 pytest tests/reliability/test_fuzz.py``.
"""

from __future__ import annotations

import io
import os
import pickle
import resource
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import lmdb
import numpy as np
import pytest
import scipy.io
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CELEBA_ATTRS, blobs, png_bytes, tiny_config, write_celeba
from dcgan import DCGANError, Generator, load_checkpoint, load_dataset, train
from dcgan.core.models import ModelSpec
from dcgan.data import prepare_dataset
from dcgan.data.formats import celeba
from dcgan.experiments.latent import load_z, save_z
from dcgan.export import export_generator
from dcgan.training.options_file import config_from

EXAMPLES = int(os.environ.get("DCGAN_FUZZ_EXAMPLES", "25"))  # per loader
MAX_SECONDS = 60.0  # one load of a few KB: well under a second on idle cores, seconds at load 4; a minute is a hang
MAX_GROWTH_KB = 2**20  # peak memory may not grow by 1 GiB on a few KB of input
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a busy machine; hangs are caught by MAX_SECONDS
    derandomize=True,  # the same inputs on every CI run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _idx(images: np.ndarray) -> bytes:
    return bytes([0, 0, 8, images.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in images.shape) + images.tobytes()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a/0.png", png_bytes((8, 8)))
        zf.writestr("a/1.png", png_bytes((8, 8)))
    return buffer.getvalue()


def _mat() -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((2, 1), np.uint8)})
    return buffer.getvalue()


def _pth() -> bytes:
    buffer = io.BytesIO()
    spec = ModelSpec(resolution=16, channels=1, nz=4, g_width=4, d_width=4)
    torch.save({f"main.{i}": v for i, v in enumerate(Generator(spec).state_dict().values())}, buffer)
    return buffer.getvalue()


def _lmdb(folder: Path) -> bytes:
    """An LSUN-like database of two small images: its data.mdb."""
    env = lmdb.open(str(folder), map_size=1 << 20)
    with env.begin(write=True) as txn:
        for i in range(2):
            txn.put(f"{i:040x}".encode(), png_bytes((8, 8)))
    env.close()
    return (folder / "data.mdb").read_bytes()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    """One valid file per loader: the mutations start from these."""
    root = tmp_path_factory.mktemp("seeds")
    write_celeba(root / "celeba", CELEBA_ATTRS, size=(24, 30), partition=[0, 0, 1, 1, 2])
    trainer = train(tiny_config(root, epochs=1, g_width=4, d_width=4, nz=4, batch_size=16), blobs(16), callbacks=[])
    prepared = prepare_dataset(trainer.run.samples, root / "prepared", 16)  # the epoch's sample grid: one image
    z = save_z(root / "z.safetensors", torch.randn(3, 4), seed=0)
    cifar_py = pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]})
    return {
        "idx": _idx(np.zeros((3, 8, 8), np.uint8)),
        "image": png_bytes((8, 8)),
        "zip": _zip(),
        "cifar-bin": bytes(2 * 3073),
        "cifar-py": cifar_py,
        "svhn": _mat(),
        "lsun": _lmdb(root / "lsun"),
        "celeba-attributes": (root / "celeba" / celeba.ATTR_FILE).read_bytes(),
        "celeba-partition": (root / "celeba" / celeba.PARTITION_FILE).read_bytes(),
        # not fuzzed: the faces beside the two lists
        **{
            f"{celeba.IMAGE_FOLDER}/{p.name}": p.read_bytes() for p in (root / "celeba" / celeba.IMAGE_FOLDER).iterdir()
        },
        "manifest": (prepared / "manifest.json").read_bytes(),
        "prepared-npy": (prepared / "images.npy").read_bytes(),
        "checkpoint": trainer.run.last_checkpoint.read_bytes(),
        "generator": export_generator(
            trainer.run_dir, "safetensors", root / "g.safetensors", dtype="fp16"
        ).read_bytes(),
        "pth": _pth(),
        "z": z.read_bytes(),
        "config": trainer.run.config.read_bytes(),
    }


def _load_in(folder: Path, kind: str, data: bytes, seeds: dict[str, bytes]) -> object:
    """Write ``data`` where the ``kind`` of loader looks for it, and run that loader."""
    files: dict[str, tuple[str, Callable[[Path], object]]] = {
        "idx": ("train-images-idx3-ubyte", lambda p: load_dataset(p.parent)),
        "image": ("images/0.png", lambda p: load_dataset(p.parent)),
        "zip": ("set.zip", load_dataset),
        "cifar-bin": ("cifar-10-batches-bin/data_batch_1.bin", lambda p: load_dataset(p.parent)),
        "cifar-py": ("cifar-10-batches-py/data_batch_1", lambda p: load_dataset(p.parent)),
        "svhn": ("train_32x32.mat", load_dataset),
        "lsun": ("bedroom_train_lmdb/data.mdb", lambda p: load_dataset(p.parent)),
        "celeba-attributes": (f"celeba/{celeba.ATTR_FILE}", lambda p: load_dataset(p.parent, split="valid")),
        "celeba-partition": (f"celeba/{celeba.PARTITION_FILE}", lambda p: load_dataset(p.parent, split="valid")),
        "manifest": ("prepared/manifest.json", lambda p: load_dataset(p.parent)),
        "prepared-npy": ("prepared/images.npy", lambda p: load_dataset(p.parent)),
        "checkpoint": ("run/checkpoints/last.safetensors", lambda p: load_checkpoint(p.parent.parent)),
        "generator": ("g.safetensors", lambda p: load_checkpoint(p).generator()),  # read, and its G built
        "pth": ("netG.pth", load_checkpoint),
        "z": ("z.safetensors", load_z),
        "config": ("config.json", config_from),
    }
    name, loader = files[kind]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for other, content in _intact_neighbours(kind, seeds).items():  # the rest of the set, undamaged
        (path.parent / other).parent.mkdir(parents=True, exist_ok=True)
        (path.parent / other).write_bytes(content)
    return loader(path)


def _intact_neighbours(kind: str, seeds: dict[str, bytes]) -> dict[str, bytes]:
    if kind.startswith("celeba"):
        images = {name: content for name, content in seeds.items() if name.startswith(celeba.IMAGE_FOLDER)}
        lists = {"celeba-attributes": celeba.ATTR_FILE, "celeba-partition": celeba.PARTITION_FILE}
        return images | {name: seeds[other] for other, name in lists.items() if other != kind}
    if kind == "manifest":
        return {"images.npy": seeds["prepared-npy"]}
    if kind == "prepared-npy":
        return {"manifest.json": seeds["manifest"]}
    if kind == "cifar-bin":
        names = "".join(f"class{i}\n" for i in range(10)).encode()
        return {"batches.meta.txt": names} | {f"data_batch_{i}.bin": seeds[kind] for i in range(2, 6)}
    if kind == "cifar-py":
        names = pickle.dumps({"label_names": [f"class{i}" for i in range(10)]})
        return {"batches.meta": names} | {f"data_batch_{i}": seeds[kind] for i in range(2, 6)}
    return {}


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """Random bytes, or the valid ``seed`` truncated, with bytes overwritten, or with a 4/8-byte field set huge."""
    how = draw(st.sampled_from(["random", "truncate", "flip", "huge"]))
    if how == "random" or not seed:
        return draw(st.binary(max_size=2048))
    data = bytearray(seed)
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        if how == "flip":
            data[at] = draw(st.integers(0, 255))
        else:
            width = draw(st.sampled_from([4, 8]))
            data[at : at + width] = draw(st.sampled_from([b"\xff", b"\x7f", b"\x00"])) * width
    return bytes(data[: len(seed)])


KINDS = ["idx", "image", "zip", "cifar-bin", "cifar-py", "svhn", "lsun", "celeba-attributes", "celeba-partition"]
KINDS += ["manifest", "prepared-npy", "checkpoint", "generator", "pth", "z", "config"]
EXECUTIONS: dict[str, int] = {}


@pytest.mark.parametrize("kind", KINDS)
def test_every_loader_loads_or_refuses_cleanly(kind, seeds):
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @FUZZ
    @given(data=mutated(seeds[kind]))
    def load(data: bytes) -> None:
        EXECUTIONS[kind] = EXECUTIONS.get(kind, 0) + 1
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as folder:
            try:
                _load_in(Path(folder), kind, data, seeds)
            except DCGANError as exc:
                assert str(exc).strip() and "Traceback" not in str(exc)
        assert time.monotonic() - start < MAX_SECONDS
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline < MAX_GROWTH_KB

    load()
    with tempfile.TemporaryDirectory() as folder:  # the seed itself loads: the mutations start from valid files
        assert _load_in(Path(folder), kind, seeds[kind], seeds) is not None
    print(f"{kind}: {EXECUTIONS[kind]} inputs, none crashed")
