"""LSUN: the official LMDB databases (``bedroom_train_lmdb/``, values are webp or jpeg files).

A folder holding ``data.mdb`` is one database; a folder of such folders gives one class per
database (``bedroom_train_lmdb`` -> ``bedroom``). Only the keys are listed up front; the
images stay in the database and are read in chunks, each worker thread in its own read
transaction, so the 3 million bedrooms of the paper stream through ``dcgan prepare``.
"""

from __future__ import annotations

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


def _open(db: Path):
    import lmdb  # only LSUN needs it

    try:
        return lmdb.open(str(db), readonly=True, lock=False, readahead=False, meminit=False, max_readers=256)
    except lmdb.Error as exc:
        raise DCGANError(
            f"cannot open the LMDB database {db}: {exc}", "check the folder, or download it again"
        ) from None


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    if split is not None:
        raise DCGANError("LSUN databases are one split each", f"point --data at the {split} database folder")
    databases = _databases(path)
    envs = [_open(db) for db in databases]
    keys, owner = [], []
    for d, env in enumerate(envs):
        with env.begin() as txn:
            db_keys = list(txn.cursor().iternext(values=False))
        keys.extend(db_keys)
        owner.extend([d] * len(db_keys))
    if not keys:
        raise DCGANError(f"the LMDB database(s) in {path} are empty", "check the folder, or download it again")
    owner_array = np.array(owner, dtype=np.int64)
    if resolution is None or channels is None:
        with envs[0].begin() as txn:
            first = decode_image(txn.get(keys[0]))
        resolution = resolution or auto_resolution(*first.size)
        channels = channels or default_channels(first)

    def decode(indices: Sequence[int]) -> list[np.ndarray | str]:
        txns = [env.begin() for env in envs]  # one read transaction per database per chunk (per thread)
        try:
            out: list[np.ndarray | str] = []
            for i in indices:
                try:
                    value = txns[owner_array[i]].get(keys[i])
                    out.append(fit_image(decode_image(value), resolution, channels))
                except DECODE_ERRORS as exc:
                    out.append(f"{keys[i].decode(errors='replace')}: {exc}")
            return out
        finally:
            for txn in txns:
                txn.abort()

    meta = {}
    if len(databases) > 1:
        meta = {"labels": owner_array, "class_names": [_class_name(db) for db in databases]}
    return Source(len(keys), resolution, channels, decode, description=f"LSUN LMDB {path}", **meta)
