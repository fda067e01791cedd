"""Signal handlers for a stretch of work: what Ctrl-C and SIGTERM do while training, or while it starts."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def handling(signals: tuple[signal.Signals, ...], handler: Callable) -> Iterator[None]:
    """Route ``signals`` to ``handler`` inside the block, then restore the handlers that were there.

    Python sets handlers only in the main thread; elsewhere the block runs with signals left alone.
    """
    try:
        previous = {sig: signal.signal(sig, handler) for sig in signals}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, kept in previous.items():
            signal.signal(sig, kept)
