"""One writer per folder: a run folder or a recipe's results folder is held by the process writing it.

A second ``dcgan train --resume`` or ``dcgan reproduce`` on a folder already being written would
drop the first one's newest metrics, delete its half-written checkpoint and save over its files:
each alone is fine, together they corrupt the run without a word. So the writer holds an advisory
lock (``flock``) on ``FOLDER/.lock`` while it works, and a second writer stops at once with the
holder's process and host. The kernel releases the lock when the holder ends in any way (Ctrl-C,
a crash, kill -9), so a stopped run never needs a lock file removed by hand. Where ``flock`` does
not exist (Windows) folders are not held.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import DCGANError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

LOCK = ".lock"  # inside the held folder: who holds it (JSON), for the message a second writer gets


@contextmanager
def holding(folder: str | Path, doing: str) -> Iterator[None]:
    """Hold ``folder`` (made if missing) for this process while the block runs ``doing`` ("training", ...)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield
        return
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DCGANError(
                f"{folder} is in use: {_holder(fd)}",
                "wait for that process to end, or stop it (Ctrl-C or kill: it checkpoints), then run this again",
            ) from None
        me = {"doing": doing, "pid": os.getpid(), "host": socket.gethostname(),
              "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays, saying who held the folder last


def _holder(fd: int) -> str:
    """What the lock file says of the process holding it."""
    try:
        held = json.loads(os.pread(fd, 4096, 0).decode())
        return f"{held['doing']} by process {held['pid']} on {held['host']} since {held['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process holds it"
