"""What a command read, in a few lines: so a user who brings their own folder sees at once how many images,
at what size, in which classes, before any long work starts.

``summarize`` turns loaded data into a small JSON-able dict (training keeps it in every checkpoint, so
``dcgan info`` shows the same lines later); ``format_summary`` is the one place those lines are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .loading import ImageData

SHOWN_CLASSES = 12  # more classes than this are listed as the first ones and a count


def summarize(data: ImageData) -> dict:
    """Count, size, channels, classes with their image counts, attributes, landmarks and the source of ``data``."""
    summary = {
        "source": data.source,
        "images": len(data),
        "resolution": data.resolution,
        "channels": data.channels,
        "skipped": data.skipped,
    }
    if data.labels is not None and data.class_names:
        counts = np.bincount(data.labels.numpy(), minlength=len(data.class_names))
        summary["classes"] = {name: int(n) for name, n in zip(data.class_names, counts, strict=True)}
    if data.attribute_names:
        summary["attributes"] = list(data.attribute_names)
    if data.landmark_names:
        summary["landmarks"] = list(data.landmark_names)
    return summary


def format_summary(summary: dict, run_dir: str | None = None) -> str:
    """The summary as the lines every data-reading command prints first."""
    colour = {1: "grey", 3: "RGB"}.get(summary["channels"], f"{summary['channels']} channels")
    size = summary["resolution"]
    lines = [
        f"data: {summary['images']:,} images, {size}x{size} {colour} (centre square crop), from {summary['source']}"
    ]
    if summary.get("skipped"):
        lines.append(f"  skipped {summary['skipped']:,} unreadable files")
    classes = summary.get("classes")
    if classes:
        shown = [f"{name} {count:,}" for name, count in list(classes.items())[:SHOWN_CLASSES]]
        more = f", ... ({len(classes) - SHOWN_CLASSES} more)" if len(classes) > SHOWN_CLASSES else ""
        lines.append(f"  {len(classes)} classes: {', '.join(shown)}{more}")
    else:
        lines.append("  no classes (put images in one folder per class to get labels)")
    if summary.get("attributes"):
        lines.append(f"  {len(summary['attributes'])} attributes: {_listed(summary['attributes'])}")
    if summary.get("landmarks"):
        lines.append(f"  {len(summary['landmarks'])} landmarks per image: {_listed(summary['landmarks'])}")
    if run_dir is not None:
        lines.append(f"  run folder: {run_dir}")
    return "\n".join(lines)


def _listed(names: Sequence[str]) -> str:
    return ", ".join(names[:SHOWN_CLASSES]) + (", ..." if len(names) > SHOWN_CLASSES else "")
