"""CIFAR-10 and CIFAR-100 in their official versions: binary and (pickled) python.

Each is recognised by its official folder name (``cifar-10-batches-bin``, ``cifar-100-binary``,
``cifar-10-batches-py``, ``cifar-100-python``), given itself, as a parent folder, or as the
official ``.tar.gz`` (read in place, never extracted). The python version is a pickle, which
can run arbitrary code when loaded; it is read with an unpickler that admits only the three
numpy names an array needs, so a hostile file is refused instead of executed.
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ...errors import DCGANError
from ..imaging import array_source
from ..source import Source

PIXELS = 3 * 32 * 32
OFFICIAL_TARBALLS = {f"cifar-{n}-{v}.tar.gz" for n in (10, 100) for v in ("binary", "python")}


@dataclass(frozen=True)
class Layout:
    name: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    names_file: str
    label_bytes: int = 0  # binary version: label bytes before each image (CIFAR-100: coarse, fine)
    label_key: str = ""  # python version: the dict key of the labels
    names_key: str = ""


LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout(
            "cifar-10-batches-bin",
            tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
            ("test_batch.bin",),
            "batches.meta.txt",
            label_bytes=1,
        ),
        Layout("cifar-100-binary", ("train.bin",), ("test.bin",), "fine_label_names.txt", label_bytes=2),
        Layout(
            "cifar-10-batches-py",
            tuple(f"data_batch_{i}" for i in range(1, 6)),
            ("test_batch",),
            "batches.meta",
            label_key="labels",
            names_key="label_names",
        ),
        Layout(
            "cifar-100-python", ("train",), ("test",), "meta", label_key="fine_labels", names_key="fine_label_names"
        ),
    )
}


def _is_tar(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar"))


def _find(path: Path) -> tuple[Path, Layout, dict[str, Path | tarfile.TarInfo]] | None:
    """(container, layout, files by name): the official folder given itself or as a parent, or a tarball."""
    if path.is_dir():
        children = sorted(path.iterdir())
        for folder in (path, *(p for p in children if p.is_dir())):
            if folder.name in LAYOUTS:
                return folder, LAYOUTS[folder.name], {p.name: p for p in folder.iterdir() if p.is_file()}
        # the official tarballs, as dcgan download leaves them (other archives are not opened just to look)
        return next((found for p in children if p.name in OFFICIAL_TARBALLS and (found := _find(p))), None)
    if not _is_tar(path):
        return None
    try:
        with tarfile.open(path) as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError):
        return None
    for member in members:
        folder = PurePosixPath(member.name).parent.name
        if folder in LAYOUTS:
            files = {PurePosixPath(m.name).name: m for m in members if PurePosixPath(m.name).parent.name == folder}
            return path, LAYOUTS[folder], files
    return None


def detect(path: Path) -> bool:
    return _find(path) is not None


def _read_all(path: Path, files: dict[str, Path | tarfile.TarInfo], wanted: list[str]) -> dict[str, bytes]:
    missing = [name for name in wanted if name not in files]
    if missing:
        raise DCGANError(
            f"{path} lacks {', '.join(missing)}", "download the dataset again (dcgan download cifar10 / cifar100)"
        )
    if not _is_tar(path):
        return {name: files[name].read_bytes() for name in wanted}
    try:
        with tarfile.open(path) as tar:
            return {name: tar.extractfile(files[name]).read() for name in wanted}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DCGANError(
            f"cannot read {path}: {exc}", "the archive is corrupt or truncated; download it again"
        ) from None


_RECONSTRUCT = np.zeros(0).__reduce__()[0]  # numpy's array rebuilder, wherever this numpy keeps it
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # the name in the official (numpy 1) files
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # the name numpy 2 writes
    ("_codecs", "encode"): codecs.encode,  # how protocol 2 spells bytes written by Python 3
}


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays, and refuses every other global."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the file is not plain CIFAR data")
        return _ALLOWED_GLOBALS[(module, name)]


def safe_unpickle(blob: bytes, source: str) -> dict:
    """A CIFAR python batch as a dict with ``str`` keys, without ever running code from the file."""
    try:
        obj = _ArraysOnly(io.BytesIO(blob), encoding="bytes").load()
        if not isinstance(obj, dict):
            raise TypeError(f"it holds a {type(obj).__name__}, not a CIFAR batch dict")
        return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    # RuntimeError, SystemError, MemoryError: numpy's own, rebuilding an array of a crafted dtype or size
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        OverflowError,
        RuntimeError,
        SystemError,
        MemoryError,
    ) as exc:
        raise DCGANError(
            f"{source} is not a safe CIFAR python batch: {exc}",
            "use the official cifar-10-python.tar.gz / cifar-100-python.tar.gz files",
        ) from None


def _parse_binary(blob: bytes, layout: Layout, source: str) -> tuple[np.ndarray, np.ndarray]:
    record = layout.label_bytes + PIXELS
    if len(blob) % record:
        raise DCGANError(
            f"{source} is truncated: {len(blob)} bytes is not a whole number of {record}-byte records",
            "download the dataset again",
        )
    rows = np.frombuffer(blob, dtype=np.uint8).reshape(-1, record)
    return rows[:, layout.label_bytes :].reshape(-1, 3, 32, 32), rows[:, layout.label_bytes - 1].astype(np.int64)


def _parse_python(blob: bytes, layout: Layout, source: str) -> tuple[np.ndarray, np.ndarray]:
    batch = safe_unpickle(blob, source)
    try:
        images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[layout.label_key], dtype=np.int64)
    except (KeyError, ValueError) as exc:
        raise DCGANError(f"{source} is not a CIFAR batch: {exc}", "use the official files") from None
    if len(labels) != len(images):
        raise DCGANError(f"{source} has {len(labels)} labels for {len(images)} images", "use the official files")
    return images, labels


def _class_names(blob: bytes, layout: Layout, source: str) -> list[str]:
    if layout.label_bytes:
        return [line.strip() for line in blob.decode().splitlines() if line.strip()]
    names = safe_unpickle(blob, source).get(layout.names_key, [])
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    found = _find(path)
    assert found is not None
    path, layout, files = found
    split = split or "train"
    if split not in ("train", "test"):
        raise DCGANError(f"CIFAR has no split {split!r}", "choose train or test")
    batch_names = list(getattr(layout, split))
    blobs = _read_all(path, files, [*batch_names, layout.names_file])
    parse = _parse_binary if layout.label_bytes else _parse_python
    parts = [parse(blobs[name], layout, f"{path}/{name}") for name in batch_names]
    images = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)  # (N, H, W, C), as array_source takes
    labels = np.concatenate([p[1] for p in parts])
    class_names = _class_names(blobs[layout.names_file], layout, layout.names_file)
    if labels.max(initial=0) >= len(class_names):
        raise DCGANError(
            f"{path} has label {labels.max()} but {len(class_names)} class names", "use the official files"
        )
    return array_source(
        images, resolution, channels, f"{layout.name} ({split}) at {path}", labels=labels, class_names=class_names
    )
