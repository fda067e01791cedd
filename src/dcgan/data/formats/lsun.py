"""LSUN: the official LMDB databases (``bedroom_train_lmdb/``, values are webp or jpeg files).

A folder holding ``data.mdb`` is one database; a folder of such folders gives one class per
database (``bedroom_train_lmdb`` -> ``bedroom``). Only the keys are listed up front; the
images stay in the database and are read in chunks, each worker thread in its own read
transaction, so the 3 million bedrooms of the paper stream through ``dcgan prepare``. The database
is opened read-only without its lock file, so it reads from a read-only folder (a shared data
set, a CI mount) and nothing is ever written beside it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import DCGANError
from ..imaging import DECODE_ERRORS, auto_resolution, decode_image, default_channels, fit_image
from ..source import Source

DATA_FILE = "data.mdb"


def _databases(path: Path) -> list[Path]:
    if (path / DATA_FILE).is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if (p / DATA_FILE).is_file())
    return []


def detect(path: Path) -> bool:
    return bool(_databases(path))


def _class_name(db: Path) -> str:
    return db.name.removesuffix("_lmdb").removesuffix("_train").removesuffix("_val")


# LMDB's meta page (lmdb/mdb.c, MDB_meta after a 16-byte page header; 64-bit, little-endian builds)
META_MAGIC = 0xBEEFC0DE
META_FIELDS = {"magic": (16, 4), "page_size": (40, 4), "root": (128, 8), "last_page": (136, 8), "txn": (144, 8)}
NO_PAGE = 2**64 - 1  # the root of an empty database
PAGE_SIZES = [2**k for k in range(9, 17)]


def _meta(head: bytes, at: int) -> dict[str, int] | None:
    """One of the two meta pages, or None where it is not one."""
    fields = {k: int.from_bytes(head[at + o : at + o + n], "little") for k, (o, n) in META_FIELDS.items()}
    return fields if len(head) >= at + 152 and fields["magic"] == META_MAGIC else None


def check_data_file(db: Path) -> None:
    """Refuse a data.mdb shorter than its meta page says, before LMDB maps it: LMDB trusts the file, and
    reading a page past its end kills the process with SIGBUS (a truncated download or copy would)."""
    path = db / DATA_FILE
    with path.open("rb") as fh:
        head = fh.read(2 * PAGE_SIZES[-1])
    first = _meta(head, 0)
    page_size = first["page_size"] if first else 0
    second = _meta(head, page_size) if page_size in PAGE_SIZES else None
    metas = [m for m in (first, second) if m is not None]
    fix = "the file is damaged or cut short; download or copy it again"
    if not metas:
        raise DCGANError(f"{path} is not an LMDB database (no meta page)", fix)
    meta = max(metas, key=lambda m: m["txn"])  # LMDB reads the newer of the two
    pages = (meta["last_page"] + 1) * page_size
    if pages > path.stat().st_size or meta["last_page"] < meta["root"] != NO_PAGE:
        raise DCGANError(f"{path} holds {path.stat().st_size:,} bytes, its meta page says {pages:,}", fix)


# the environments open in this process, by (device, inode) of their data.mdb: LMDB refuses to open a file that
# the process has open already, so two sources of one database (a training set and its held-out images) share one
_OPEN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _open(db: Path):
    """The database read-only and without its lock file (``lock.mdb`` is never opened, so a read-only folder
    reads): nothing here writes, and LSUN's databases never change."""
    import lmdb  # only LSUN needs it

    check_data_file(db)
    stat = (db / DATA_FILE).stat()
    env = _OPEN.get((stat.st_dev, stat.st_ino))
    if env is not None:
        return env
    try:
        env = lmdb.open(str(db), readonly=True, lock=False, readahead=False, meminit=False, max_readers=256)
    except lmdb.Error as exc:
        raise DCGANError(
            f"cannot open the LMDB database {db}: {exc}", "check the folder, or download it again"
        ) from None
    _OPEN[stat.st_dev, stat.st_ino] = env
    return env


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    if split is not None:
        raise DCGANError("LSUN databases are one split each", f"point --data at the {split} database folder")
    import lmdb

    databases = _databases(path)
    envs = [_open(db) for db in databases]
    keys, owner = [], []
    try:
        for d, env in enumerate(envs):
            with env.begin() as txn:
                db_keys = list(txn.cursor().iternext(values=False))
            keys.extend(db_keys)
            owner.extend([d] * len(db_keys))
        if not keys:
            raise DCGANError(f"the LMDB database(s) in {path} are empty", "check the folder, or download it again")
        if resolution is None or channels is None:
            with envs[0].begin() as txn:
                first = decode_image(txn.get(keys[0]))
            resolution = resolution or auto_resolution(*first.size)
            channels = channels or default_channels(first)
    except (*DECODE_ERRORS, lmdb.Error) as exc:  # damaged pages, or a first image that is not one
        raise DCGANError(f"cannot read the LMDB database(s) in {path}: {exc}", "download or copy it again") from None
    owner_array = np.array(owner, dtype=np.int64)

    def decode(indices: Sequence[int]) -> list[np.ndarray | str]:
        txns = [env.begin() for env in envs]  # one read transaction per database per chunk (per thread)
        try:
            out: list[np.ndarray | str] = []
            for i in indices:
                try:
                    value = txns[owner_array[i]].get(keys[i])
                    out.append(fit_image(decode_image(value), resolution, channels))
                except (*DECODE_ERRORS, lmdb.Error) as exc:  # a damaged page: one unreadable image
                    out.append(f"{keys[i].decode(errors='replace')}: {exc}")
            return out
        finally:
            for txn in txns:
                txn.abort()

    meta = {}
    if len(databases) > 1:
        meta = {"labels": owner_array, "class_names": [_class_name(db) for db in databases]}
    return Source(len(keys), resolution, channels, decode, description=f"LSUN LMDB {path}", **meta)
