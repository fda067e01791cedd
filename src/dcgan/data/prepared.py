"""Prepared sets: a source decoded once into ``images.npy`` plus ``manifest.json``.

``images.npy`` is a plain (N, C, H, W) uint8 array; it is opened memory-mapped, so a
training run starts in seconds and reads pages from disk only as batches touch them (a set
larger than RAM streams from the page cache). ``labels.npy``/``attributes.npy``/``landmarks.npy`` sit
beside it (those the source has; a set prepared before landmarks existed has none and loads as before); the
manifest names the classes, attributes and landmarks and records where the data came from:
the source path, a fingerprint of its files, and the options it was prepared with. The
training cache (``cache.py``) is a folder of such sets.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from datetime import datetime, timezone
from pathlib import Path
from tokenize import TokenError

import numpy as np
import torch

from ..errors import DCGANError
from .formats.folder import files_under, split_zip_path
from .source import ROW_FIELDS, Source, decode_into, rows_of

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
IMAGES = "images.npy"
ROW_FILES = {name: f"{name}.npy" for name in ROW_FIELDS}  # labels.npy, attributes.npy, landmarks.npy
PARTIAL = ".partial-"  # a folder being written: .<name>.partial-<host>-<pid>, renamed when complete
# what readers of a manifest rely on (a hand-edited or damaged one is refused, not a KeyError later)
REQUIRED = {
    "count": int,
    "resolution": int,
    "channels": int,
    "skipped": int,
    "class_names": (list, type(None)),
    "attribute_names": (list, type(None)),
    "description": str,
}
OPTIONAL = {"landmark_names": list}  # written since landmarks exist; older manifests lack them


def detect(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def fingerprint(path: Path) -> dict:
    """Path, size, file count and a digest of every file's (name, size, mtime): changes when the data does."""
    path = (split_zip_path(path) or (path,))[0].resolve()
    files = ((name, entry.stat()) for name, entry in files_under(path)) if path.is_dir() else [(path.name, path.stat())]
    digest = hashlib.sha256()
    size = count = 0
    for name, st in files:
        size += st.st_size
        count += 1
        digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return {"path": str(path), "files": count, "bytes": size, "digest": digest.hexdigest()}


def write_prepared(source: Source, out: Path, skip_bad: bool, progress: bool, provenance: dict) -> Path:
    """Decode ``source`` into ``out`` (written to a temporary sibling, then renamed: never half-written)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DCGANError(f"{out} already exists and is not empty", "choose another -o, or delete it first")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}{PARTIAL}{socket.gethostname()}-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        shape = (source.count, source.channels, source.resolution, source.resolution)
        with RowFile(partial / IMAGES, shape) as images:
            keep = decode_into(source, images, skip_bad, progress)
        if len(keep) < source.count:
            _shrink_npy(partial / IMAGES, len(keep))
        for name, values in rows_of(source, keep).items():
            if values is not None:
                np.save(partial / ROW_FILES[name], values)
        manifest = {
            "format_version": FORMAT_VERSION,
            "count": len(keep),
            "resolution": source.resolution,
            "channels": source.channels,
            **{names: getattr(source, names) for names in ROW_FIELDS.values()},
            "skipped": source.count - len(keep),
            "description": source.description,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **provenance,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            if out.exists():
                out.rmdir()  # the empty folder the check above let through
            partial.rename(out)
        except OSError:  # not empty any more (rmdir), or already there (rename): another writer finished first
            if not detect(out):
                raise
            shutil.rmtree(partial)  # another process prepared the same cache entry first: use theirs
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out


class RowFile:
    """A uint8 ``.npy`` file of ``shape`` whose rows are written (and read back) with positional reads and writes.

    Not a memory map: the pages a map writes stay in the writing process's resident memory until it
    unmaps them, so writing a set of millions of images through one would grow the process with the
    set; written this way, they go to the kernel's page cache only. Threads may write distinct rows at once.
    """

    def __init__(self, path: Path, shape: tuple[int, ...]):
        self.shape, self.row_bytes = shape, int(np.prod(shape[1:]))
        with open(path, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False, "shape": shape})
            self.offset = fh.tell()
            fh.truncate(self.offset + shape[0] * self.row_bytes)
        self.fd = os.open(path, os.O_RDWR)

    def __enter__(self) -> RowFile:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)

    def __setitem__(self, row: int, values: np.ndarray) -> None:
        os.pwrite(self.fd, np.ascontiguousarray(values, dtype=np.uint8).tobytes(), self.offset + row * self.row_bytes)

    def __getitem__(self, row: int) -> np.ndarray:
        data = os.pread(self.fd, self.row_bytes, self.offset + row * self.row_bytes)
        return np.frombuffer(data, dtype=np.uint8).reshape(self.shape[1:])


def _shrink_npy(path: Path, count: int) -> None:
    """Cut an .npy array to its first ``count`` rows in place (after unreadable images were dropped)."""
    with open(path, "r+b") as fh:
        major, minor = np.lib.format.read_magic(fh)
        shape, fortran, dtype = (
            np.lib.format.read_array_header_1_0(fh) if major == 1 else np.lib.format.read_array_header_2_0(fh)
        )
        header_end = fh.tell()
        new_shape = (count, *shape[1:])
        text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran, "shape": new_shape})
        prefix = np.lib.format.magic(major, minor) + (b"\0\0" if major == 1 else b"\0\0\0\0")
        padded = text.ljust(header_end - len(prefix) - 1).encode("latin1") + b"\n"
        header_len = len(padded).to_bytes(2 if major == 1 else 4, "little")
        fh.seek(0)
        fh.write(np.lib.format.magic(major, minor) + header_len + padded)
        fh.truncate(header_end + count * int(np.prod(shape[1:])) * dtype.itemsize)


def read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8 or not JSON
        raise DCGANError(f"cannot read {path / MANIFEST}: {exc}", "prepare the set again with dcgan prepare") from None
    if not isinstance(manifest, dict):
        raise DCGANError(f"{path / MANIFEST} is not a manifest", "prepare the set again with dcgan prepare")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DCGANError(
            f"{path} was prepared in format {manifest.get('format_version')}, this dcgan reads {FORMAT_VERSION}",
            "prepare the set again with dcgan prepare",
        )
    damaged = [key for key, kind in REQUIRED.items() if key not in manifest or not isinstance(manifest[key], kind)]
    damaged += [key for key, kind in OPTIONAL.items() if key in manifest and not isinstance(manifest[key], kind)]
    if damaged:
        raise DCGANError(
            f"{path / MANIFEST} is damaged: {', '.join(damaged)} missing or invalid", "prepare the set again"
        )
    return manifest


def load(path: Path, resolution: int | None, channels: int | None) -> tuple[dict, dict]:
    """A prepared set as (manifest, ImageData fields); the images stay memory-mapped, not read."""
    manifest = read_manifest(path)
    for name, wanted in (("resolution", resolution), ("channels", channels)):
        if wanted is not None and wanted != manifest[name]:
            raise DCGANError(
                f"{path} was prepared with {name} {manifest[name]}, not {wanted}",
                f"leave out --{name}, or prepare again with --{name} {wanted}",
            )
    try:
        # copy-on-write map: a writable array for torch, whose pages are read only when touched
        images = np.load(path / IMAGES, mmap_mode="c")
        rows = {name: np.load(path / file) for name, file in ROW_FILES.items() if (path / file).is_file()}
    except (OSError, ValueError, EOFError, SyntaxError, TokenError) as exc:  # the last three: a damaged .npy header
        raise DCGANError(f"cannot read the prepared set {path}: {exc}", "prepare the set again") from None
    expected = (manifest["count"], manifest["channels"], manifest["resolution"], manifest["resolution"])
    if images.shape != expected or images.dtype != np.uint8:
        raise DCGANError(
            f"{path / IMAGES} holds {images.dtype} {images.shape}, the manifest says uint8 {expected}",
            "the set is damaged; prepare it again",
        )
    uneven = [
        f"{ROW_FILES[name]} is {values.shape}" for name, values in rows.items() if values.shape[:1] != expected[:1]
    ]
    if uneven:
        raise DCGANError(
            f"{path}: {', '.join(uneven)}, not a row for each of the {len(images)} images",
            "the set is damaged; prepare it again",
        )
    fields = {
        "images": torch.from_numpy(images),
        **{name: torch.from_numpy(rows[name]) if name in rows else None for name in ROW_FIELDS},
        **{names: manifest.get(names) or [] for names in ROW_FIELDS.values()},
        "source": f"prepared set {path} (from {manifest.get('source', {}).get('path', '?')})",
    }
    return manifest, fields
