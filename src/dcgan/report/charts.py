"""Line charts as inline SVG: the report draws its curves without a plotting library or a script.

SVG text is part of the HTML file, so a report opens from disk anywhere, and a long run's
curves are averaged down to a few hundred points so the file stays small.
"""

from __future__ import annotations

from html import escape

import numpy as np

MAX_POINTS = 400  # per line; more cannot be told apart in a chart this wide
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, MARGIN = 520, 220, 44


def downsample(xs: list[float], ys: list[float], points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``points`` (x, y) pairs: the means of equal consecutive buckets (all pairs when fewer)."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if len(x) <= points:
        return x, y
    buckets = np.array_split(np.arange(len(x)), points)
    return np.array([x[b].mean() for b in buckets]), np.array([y[b].mean() for b in buckets])


def _ticks(lo: float, hi: float) -> list[float]:
    return [lo + (hi - lo) * i / 4 for i in range(5)]


def line_chart(title: str, lines: dict[str, tuple[list[float], list[float]]], y_range: tuple | None = None) -> str:
    """One SVG chart of named (x, y) lines against the step, with a legend and tick labels."""
    data = {name: downsample(xs, ys) for name, (xs, ys) in lines.items() if len(xs)}
    xs = np.concatenate([x for x, _ in data.values()])
    ys = np.concatenate([y for _, y in data.values()])
    finite = ys[np.isfinite(ys)]
    x0, x1 = float(xs.min()), float(max(xs.max(), xs.min() + 1))
    y0, y1 = y_range or (float(finite.min()) if len(finite) else 0.0, float(finite.max()) if len(finite) else 1.0)
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def px(x: np.ndarray, y: np.ndarray) -> str:
        keep = np.isfinite(y)
        u = MARGIN + (x[keep] - x0) / (x1 - x0) * plot_w
        v = MARGIN + (1 - (np.clip(y[keep], y0, y1) - y0) / (y1 - y0)) * plot_h
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(u, v, strict=True))

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">',
        f'<text x="{MARGIN}" y="16" class="title">{escape(title)}</text>',
        f'<rect x="{MARGIN}" y="{MARGIN}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for t in _ticks(y0, y1):
        v = MARGIN + (1 - (t - y0) / (y1 - y0)) * plot_h
        parts.append(f'<text x="{MARGIN - 4}" y="{v + 4:.1f}" class="tick" text-anchor="end">{t:.3g}</text>')
    for t in _ticks(x0, x1):
        u = MARGIN + (t - x0) / (x1 - x0) * plot_w
        parts.append(f'<text x="{u:.1f}" y="{HEIGHT - MARGIN + 14}" class="tick" text-anchor="middle">{t:.0f}</text>')
    parts.append(f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 6}" class="tick" text-anchor="end">step</text>')
    for i, (name, (x, y)) in enumerate(data.items()):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{px(x, y)}"/>')
        parts.append(f'<text x="{MARGIN + 8 + 110 * i}" y="34" fill="{colour}" class="legend">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
