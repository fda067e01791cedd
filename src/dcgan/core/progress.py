"""The one progress bar every long command shows (decoding, sampling, features, classifiers, dedup, training).

Defined once so every bar counts the same unit the same way, writes to stderr (so a command's
printed results stay clean on stdout), and disappears with ``--no-progress`` for logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress_bar(
    total: int | None, desc: str, enabled: bool = True, unit: str = "img", initial: int = 0, leave: bool = True
) -> tqdm:
    """A bar over ``total`` units (images unless told), hidden when ``enabled`` is false."""
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        unit_scale=unit == "img",  # 30.0k images; steps and items are counted as they are
        disable=not enabled,
        dynamic_ncols=True,
        leave=leave,
    )


def tracked(items: Iterable[T], total: int, desc: str, enabled: bool = True, unit: str = "it") -> Iterator[T]:
    """``items``, advancing a bar by one per item."""
    with progress_bar(total, desc, enabled, unit=unit) as bar:
        for item in items:
            yield item
            bar.update(1)
