"""The training cache: prepared copies of the sources training runs read, and their upkeep.

Training on an unprepared source decodes it once into ``$DCGAN_CACHE/prepared/<key>`` (default
``$XDG_CACHE_HOME/dcgan``, i.e. ``~/.cache/dcgan``), one folder per source fingerprint +
options, and memory-maps it from then on. ``dcgan cache`` lists the entries and clears them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from .prepared import FORMAT_VERSION, MANIFEST, PARTIAL, ROW_FILES, fingerprint


def cache_root() -> Path:
    """Where downloads and prepared copies are kept: $DCGAN_CACHE, else ~/.cache/dcgan."""
    if os.environ.get("DCGAN_CACHE"):
        return Path(os.environ["DCGAN_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "dcgan"


def cache_folder(provenance: dict) -> Path:
    """The cache folder of a source (its ``fingerprint``) prepared with given options.

    The key names the per-image files a prepared set holds: an entry written before one of them existed
    (a CelebA entry without ``landmarks.npy``) is never served for the fuller set; the source is prepared anew."""
    key = json.dumps(provenance | {"version": FORMAT_VERSION, "fields": sorted(ROW_FILES)}, sort_keys=True)
    return cache_root() / "prepared" / hashlib.sha256(key.encode()).hexdigest()[:20]


def mark_used(folder: Path) -> None:
    """Record that a cache entry was just used (its manifest's mtime), so eviction can keep recent ones."""
    with contextlib.suppress(OSError):  # a read-only cache still works; it only loses the "last used" date
        os.utime(folder / MANIFEST)


@dataclass(frozen=True)
class CacheEntry:
    """One folder of the training cache, as ``dcgan cache`` lists it."""

    path: Path
    source: str  # the source path it was prepared from ("?" when the manifest is unreadable)
    count: int
    resolution: int
    nbytes: int
    last_used: float  # seconds since the epoch
    state: str  # ok, source missing, source changed, damaged, incomplete or being written (see the note below)

    @property
    def idle_days(self) -> float:
        return (time.time() - self.last_used) / 86400


# "source changed": its files differ from when it was prepared, so training makes a new entry and never
# reads this one again; "damaged": no readable manifest, or an older format; "incomplete": a killed write.
STALE_WRITE_SECONDS = 24 * 3600  # a partial folder of another machine untouched this long is a dead write


def cache_entries() -> list[CacheEntry]:
    """Every entry of the training cache, least recently used first."""
    root = cache_root() / "prepared"
    entries = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            entry = _cache_entry(folder)
        except FileNotFoundError:  # a write finished (renamed) or an entry was deleted while we looked
            continue
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda e: e.last_used)


def _cache_entry(folder: Path) -> CacheEntry | None:
    if not folder.is_dir():
        return None
    files = [f for f in folder.rglob("*") if f.is_file()]
    nbytes = sum(f.stat().st_size for f in files)
    used = max([folder.stat().st_mtime] + [f.stat().st_mtime for f in files])
    if PARTIAL in folder.name:
        host, _, pid = folder.name.split(PARTIAL, 1)[1].rpartition("-")
        # another machine's process (a shared cache) cannot be asked, so its write is judged by age
        here = host == socket.gethostname()
        busy = _alive(pid) if here else time.time() - used < STALE_WRITE_SECONDS
        return CacheEntry(folder, "?", 0, 0, nbytes, used, "being written" if busy else "incomplete")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        fingerprinted = manifest["source"]
        count, resolution, version = manifest["count"], manifest["resolution"], manifest["format_version"]
    except (OSError, ValueError, KeyError, TypeError):
        return CacheEntry(folder, "?", 0, 0, nbytes, used, "damaged")
    used = (folder / MANIFEST).stat().st_mtime
    source = fingerprinted["path"]
    if version != FORMAT_VERSION:
        state = "damaged"
    elif not Path(source).exists():
        state = "source missing"
    else:
        state = "ok" if fingerprint(Path(source)) == fingerprinted else "source changed"
    return CacheEntry(folder, source, count, resolution, nbytes, used, state)


def _alive(pid: str) -> bool:
    """Whether the process that names a partial folder still runs on this machine (then it is writing)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_cache_entries(entries: list[CacheEntry]) -> int:
    """Delete the given cache folders, never one still being written; returns the bytes freed."""
    freed = 0
    for entry in entries:
        if entry.state != "being written":
            shutil.rmtree(entry.path, ignore_errors=True)
            freed += 0 if entry.path.exists() else entry.nbytes
    return freed
