"""Signal handlers for a stretch of work: what Ctrl-C and SIGTERM do in a command, and while training."""

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


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a scheduler, a session's end), raised where the program is so that it unwinds as after
    Ctrl-C: ``finally`` blocks and context managers run (temporary folders go, half-written files are dropped) and
    buffered output is written, where Python's default would end the process on the spot. Like Ctrl-C it waits for
    the operation under way in C (a convolution, a file read) to return. A KeyboardInterrupt, so that code which
    stops cleanly on Ctrl-C (the recipe's hint to continue, DataLoader workers) does the same here."""


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated
