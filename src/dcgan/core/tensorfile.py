"""The one container for everything dcgan saves as tensors: safetensors plus JSON metadata, written atomically.

Checkpoints, z files and attribute classifiers are all this: named tensors, and one JSON
document in the safetensors header. Keeping the metadata inside the file keeps each save one
file, so one atomic rename publishes it whole (a crash leaves the old file or the new one,
never a mix), and reading never unpickles anything.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from ..errors import DCGANError

META_KEY = "dcgan"  # the header entry holding the JSON metadata


MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit: a larger header is a damaged or hostile file


def check_writable_folder(folder: Path, fix: str = "choose a writable folder with free space") -> None:
    """Prove that ``folder`` (or, while it does not exist, the folder it would be made in) takes files.

    Run before long work whose output it will hold; it creates nothing that stays.
    """
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DCGANError(f"{existing} is a file, not a folder", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test."):
            pass
    except OSError as exc:
        raise DCGANError(f"cannot write into {folder}: {exc.strerror or exc}", fix) from None


def check_writable_file(path: Path) -> None:
    """An output file: not something else that exists (a folder, ``/dev/full``), in a folder that takes files."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise DCGANError(f"cannot write {path}: it exists and is not a regular file", "choose another output path")
    check_writable_folder(path.parent)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole.

    A failed write (full disk, read-only or unwritable folder) leaves the old file as it was
    and is one :class:`DCGANError` line.
    """
    if path.exists() and not path.is_file():  # never replace a folder or a device such as /dev/full
        raise DCGANError(f"cannot write {path}: it exists and is not a regular file", "choose another output path")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; outputs are meant to be shared like any other file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        kept = " (the previous file is unchanged)" if path.is_file() else ""
        raise write_error(path, exc, kept) from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def write_error(path: Path, exc: OSError, note: str = "", then: str = "") -> DCGANError:
    """The error of a file that could not be written, with the fix its cause calls for (``then``: what to do
    after it, such as resuming a run)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free disk space"
    elif exc.errno == errno.ENOENT:
        fix = f"its folder {path.parent} was removed or moved: put it back, or choose another folder"
    else:
        fix = "choose a folder you can write to"
    return DCGANError(f"cannot write {path}: {exc.strerror or exc}{note}", fix + then)


def atomic_write_json(path: Path, values) -> None:
    """``values`` as indented JSON, written whole or not at all (see :func:`atomic_write`)."""
    atomic_write(Path(path), (json.dumps(values, indent=2) + "\n").encode())


def encode_tensors(tensors: dict[str, torch.Tensor], meta: dict, key: str = META_KEY) -> bytes:
    """The container's bytes: ``tensors`` (copied to the CPU, contiguous) and ``meta`` (JSON-able)."""
    flat = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    return st_save(flat, metadata={key: json.dumps(meta)})


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict, key: str = META_KEY) -> Path:
    """Write :func:`encode_tensors` of ``tensors`` and ``meta`` to ``path`` atomically."""
    path = Path(path)
    atomic_write(path, encode_tensors(tensors, meta, key))
    return path


def check_header_size(path: Path) -> None:
    """Refuse a header length no real file has before anything allocates it (safetensors' first 8 bytes)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise ValueError("empty file")
    size = int.from_bytes(head, "little") if len(head) == 8 else -1
    if not 0 < size <= MAX_HEADER_BYTES:
        raise ValueError(f"header length {size} is not between 1 and {MAX_HEADER_BYTES} bytes")


def load_tensors(
    path: str | Path,
    problem: str,
    fix: str,
    *,
    fmt: str | tuple[str, ...] | None = None,
    key: str = META_KEY,
    names: Iterable[str] | None = None,
) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors (all, or only ``names``) and metadata of a file written by :func:`save_tensors`.

    A missing, damaged or foreign file, or one whose metadata names another ``format`` than
    ``fmt`` (or than each of them), is one :class:`DCGANError`: "``path`` ``problem``" (e.g. "is not a dcgan checkpoint"),
    with ``fix`` as the fix.
    Metadata missing from the header reads as ``{}``.
    """
    path = Path(path)
    try:
        check_header_size(path)
        with safe_open(str(path), framework="pt") as fh:
            meta = json.loads((fh.metadata() or {}).get(key, "{}"))
            tensors = {name: fh.get_tensor(name) for name in (fh.keys() if names is None else names)}
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise DCGANError(f"{path} {problem} ({type(exc).__name__}: {exc})", fix) from None
    formats = (fmt,) if isinstance(fmt, str) else fmt
    if formats is not None and meta.get("format") not in formats:
        expected = " or ".join(map(repr, formats))
        raise DCGANError(f"{path} {problem} (its format is {meta.get('format')!r}, not {expected})", fix)
    return tensors, meta
