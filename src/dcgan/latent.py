"""Latent-space experiments (paper section 6, figures 4, 7 and 8) as pure functions over z.

The maths takes and returns z tensors of shape (..., nz); :func:`render` and the figure
helpers at the end are the only parts that run G or draw. Every command that uses these functions saves the z it used (see :func:`save_z`), so any
figure can be regenerated from its ``.safetensors`` file, and any cell of it addressed
as ``file.safetensors#12`` or ``file.safetensors#0,1,2`` (see :func:`load_z`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .checkpoints import atomic_write
from .errors import DCGANError
from .models import Generator
from .sampling import _to_pil as to_pil
from .sampling import generate, make_grid, to_uint8

Z_KEY = "z"  # the addressable tensor of every z file: one row per image, in figure order


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points on the straight line from ``a`` (t=0) to ``b`` (t=1); ``t`` has shape (T,)."""
    t = t.to(a.dtype).reshape(-1, *([1] * a.dim()))
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from ``a`` (t=0) to ``b`` (t=1) along the great circle, norms blended linearly.

    Why it is the default for Gaussian z: a z ~ N(0, I) of length nz almost surely has norm
    close to sqrt(nz), so G has only ever seen inputs near that shell. The linear midpoint of
    two independent such vectors has norm about sqrt(nz / 2), about 0.71 of typical: a linear
    walk dips through a region G rarely saw in training, so its middle frames are atypical
    samples rather than blends of typical ones. Slerp rotates from one direction to the other, so a path between two
    typical z stays typical; between unit vectors it stays on the unit sphere.
    Falls back to :func:`lerp` for (anti)parallel endpoints, where the circle is not unique.
    """
    t = t.to(a.dtype).reshape(-1, *([1] * a.dim()))
    norm_a, norm_b = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    cos = ((a / norm_a) * (b / norm_b)).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    if (sin.abs() < 1e-6).any():
        return lerp(a, b, t.reshape(-1))
    on_sphere = (torch.sin((1 - t) * omega) * a / norm_a + torch.sin(t * omega) * b / norm_b) / sin
    return on_sphere * ((1 - t) * norm_a + t * norm_b)


def walk(points: torch.Tensor, steps: int, spherical: bool = True) -> torch.Tensor:
    """Interpolate through ``points`` (K, nz) in order: (K - 1, steps, nz), one row per segment.

    Each row runs from one point to the next inclusive, so a row's last z is the next row's first,
    as in figure 4.
    """
    if points.dim() != 2 or points.shape[0] < 2:
        raise DCGANError(f"a walk needs at least 2 points, got {tuple(points.shape)}", "give two or more z")
    if steps < 2:
        raise DCGANError(f"a walk needs at least 2 steps per segment, not {steps}", "pass --steps 2 or more")
    t = torch.linspace(0, 1, steps, dtype=torch.float64)
    step = slerp if spherical else lerp
    rows = [step(points[i].double(), points[i + 1].double(), t) for i in range(points.shape[0] - 1)]
    return torch.stack(rows).to(points.dtype)


def path_through(rows: torch.Tensor) -> torch.Tensor:
    """The rows of :func:`walk` joined into one path (T, nz), each shared point kept once: a GIF's frames."""
    return torch.cat([rows[0], *(row[1:] for row in rows[1:])])


def parse_expression(expression: str) -> list[tuple[int, str]]:
    """``"smiling woman - neutral woman + neutral man"`` -> [(+1, 'smiling woman'), (-1, ...), (+1, ...)].

    Operators need spaces around them, so concept names may contain spaces and hyphens.
    """
    text = expression.strip()
    if not re.match(r"[+-]\s", text):
        text = "+ " + text
    parts = re.split(r"(?:^|\s+)([+-])\s+", text)
    terms = [(1 if op == "+" else -1, name.strip()) for op, name in zip(parts[1::2], parts[2::2], strict=True)]
    if not terms or any(not name or name[0] in "+-" or name[-1] in "+-" for _, name in terms):
        raise DCGANError(
            f"cannot read the expression {expression!r}",
            'write concept names joined by " + " and " - ", e.g. "A - B + C"',
        )
    return terms


def combine(terms: list[tuple[int, str]], values: dict[str, torch.Tensor]) -> torch.Tensor:
    """The signed sum of ``values`` named by ``terms`` (means of z, or mean images for pixel-space arithmetic)."""
    missing = [name for _, name in terms if name not in values]
    if missing:
        raise DCGANError(
            f"no exemplars given for {', '.join(repr(m) for m in missing)}",
            "add --concept NAME=REF for every name in the expression",
        )
    return sum(sign * values[name] for sign, name in terms)


def arithmetic(expression: str, concepts: dict[str, torch.Tensor]) -> torch.Tensor:
    """Y = the expression over the mean z of each concept's exemplars (the paper averages three)."""
    return combine(parse_expression(expression), {name: z.mean(0) for name, z in concepts.items()})


def around(y: torch.Tensor, n: int, scale: float = 0.25, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points y + U[-scale, scale] noise per coordinate (figure 7 uses 0.25), shape (n, nz)."""
    if scale < 0:
        raise DCGANError(f"the noise scale must be 0 or more, not {scale}")
    return y + (torch.rand(n, y.shape[-1], generator=generator, dtype=y.dtype) * 2 - 1) * scale


def pixel_arithmetic(expression: str, images: dict[str, torch.Tensor]) -> torch.Tensor:
    """The paper's control: the same expression on the mean exemplar *images*, clipped to [-1, 1]."""
    means = {name: im.mean(0) for name, im in images.items()}
    return combine(parse_expression(expression), means).clamp(-1, 1)


@dataclass
class Arithmetic:
    """One run of figure 7: the exemplar z of each concept and the outputs Y, Y + noise, ..."""

    expression: str
    exemplars: dict[str, torch.Tensor]  # concept -> (k, nz)
    outputs: torch.Tensor  # (1 + n, nz): Y first, then Y + uniform noise

    @property
    def terms(self) -> list[tuple[int, str]]:
        return parse_expression(self.expression)

    def figure_rows(self) -> list[tuple[str, torch.Tensor]]:
        """(label, z) per figure row: each concept's exemplars followed by their mean, then the outputs."""
        rows = [
            (
                f"{'+' if sign > 0 else '-'} {name}",
                torch.cat([self.exemplars[name], self.exemplars[name].mean(0, True)]),
            )
            for sign, name in self.terms
        ]
        return [*rows, ("= Y, Y+noise", self.outputs)]


def vector_arithmetic(
    expression: str, exemplars: dict[str, torch.Tensor], n: int = 8, scale: float = 0.25, seed: int = 0
) -> Arithmetic:
    """Y from the concept means, plus ``n`` samples of Y + U[-scale, scale] noise (seeded)."""
    y = arithmetic(expression, exemplars)
    noisy = around(y, n, scale, torch.Generator().manual_seed(seed))
    return Arithmetic(expression, exemplars, torch.cat([y[None], noisy]))


def direction(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Mean z of positive exemplars minus mean z of negative ones, e.g. the turn vector of figure 8."""
    return positive.mean(0) - negative.mean(0)


def along(z: torch.Tensor, vector: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
    """Each z (N, nz) moved by s * vector for every strength s: (N, S, nz), one row per z."""
    return z[:, None, :] + strengths.to(z.dtype)[None, :, None] * vector


def render(G: Generator, z: torch.Tensor) -> torch.Tensor:
    """G(z) for z of any leading shape (..., nz): images (..., C, H, W) in [-1, 1]."""
    images = generate(G, z.reshape(-1, z.shape[-1]))
    return images.reshape(*z.shape[:-1], *images.shape[1:])


def save_z(path: str | Path, z: torch.Tensor, extra: dict[str, torch.Tensor] | None = None, **meta) -> Path:
    """Write ``z`` (N, nz) under the key ``z`` (plus any ``extra`` tensors and JSON ``meta``) as safetensors."""
    path = Path(path)
    tensors = {Z_KEY: z.detach().float().cpu().clone()}
    tensors |= {k: v.detach().float().cpu().clone() for k, v in (extra or {}).items()}
    # atomic and readable by all, like every other output (safetensors' save_file makes 0600 files)
    atomic_write(path, st_save(tensors, metadata={"dcgan-latent": json.dumps(meta)}))
    return path


def parse_indices(spec: str, count: int) -> list[int]:
    """``"0,1,2"`` or ``"3-5"`` or a mix, each index checked against ``count`` rows."""
    indices = []
    for part in spec.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise DCGANError(f"cannot read the cell list {spec!r}", "write cells like #12, #0,1,2 or #3-5")
        lo, hi = int(match[1]), int(match[2] or match[1])
        indices += range(lo, hi + 1)
    bad = [i for i in indices if i >= count]
    if bad or not indices:
        raise DCGANError(
            f"cells {bad or spec} do not exist: the file holds {count} z (cells 0-{count - 1})", "pick cells in range"
        )
    return indices


def load_z(ref: str | Path) -> torch.Tensor:
    """The z of ``file.safetensors`` (all rows), ``file.safetensors#12`` or ``file.safetensors#0,1,2``."""
    path_text, _, cells = str(ref).partition("#")
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise DCGANError(f"z file {path} does not exist", "pass a .safetensors file written by dcgan sample --sheet")
    try:
        with safe_open(str(path), framework="pt") as fh:
            z = fh.get_tensor(Z_KEY)
    except (SafetensorError, OSError, ValueError, KeyError, TypeError) as exc:
        raise DCGANError(
            f"{path} holds no z vectors ({type(exc).__name__}: {exc})",
            "pass a file written by dcgan sample --sheet, interpolate, arithmetic or direction",
        ) from None
    return z[parse_indices(cells, z.shape[0])] if cells else z


def load_z_meta(path: str | Path) -> dict:
    """The JSON metadata :func:`save_z` stored beside the tensors."""
    with safe_open(str(path), framework="pt") as fh:
        return json.loads((fh.metadata() or {}).get("dcgan-latent", "{}"))


def numbered_grid(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """A grid of ``images`` with each cell's index in its top-left corner, so cells can be named ``#12``."""
    grid = to_pil(make_grid(images, nrow)).convert("RGB")
    n, _, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    draw = ImageDraw.Draw(grid)
    for i in range(n):
        r, q = divmod(i, nrow)
        x, y = 2 + q * (w + 2), 2 + r * (h + 2)
        box = draw.textbbox((x + 1, y), str(i))
        draw.rectangle((x, y, box[2] + 1, box[3] + 1), fill=(0, 0, 0))
        draw.text((x + 1, y), str(i), fill=(255, 255, 0))
    return grid


def save_sheet(images: torch.Tensor, z: torch.Tensor, path: str | Path, nrow: int | None = None, **meta) -> Path:
    """A numbered grid at ``path`` (PNG) plus every cell's z beside it (``.safetensors``, row i = cell i)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    numbered_grid(images, nrow).save(path)
    return save_z(path.with_suffix(".safetensors"), z, **meta)


def labelled_rows(rows: list[tuple[str, torch.Tensor]], gap: int = 2, label_width: int = 0) -> Image.Image:
    """One row of images per (label, images (N, C, H, W) in [-1, 1]), with the label written to its left.

    Rows may hold different numbers of images; used for the arithmetic figure (exemplars,
    G(mean), results) and the direction figure (one row per strength).
    """
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_width = label_width or max(probe.textbbox((0, 0), label)[2] for label, _ in rows) + 6
    h, w = rows[0][1].shape[-2:]
    width = label_width + max(len(images) for _, images in rows) * (w + gap) + gap
    canvas = Image.new("RGB", (width, gap + len(rows) * (h + gap)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r, (label, images) in enumerate(rows):
        y = gap + r * (h + gap)
        draw.text((3, y + h // 2 - 6), label, fill=(0, 0, 0))
        for q, pixels in enumerate(to_uint8(images)):
            cell = to_pil(pixels).convert("RGB")
            canvas.paste(cell, (label_width + q * (w + gap), y))
    return canvas


def arithmetic_figure(G: Generator, result: Arithmetic) -> Image.Image:
    """Figure 7's layout: a row per concept (exemplars, then G(mean z)), the outputs, and pixel-space arithmetic."""
    rows = [(label, render(G, z)) for label, z in result.figure_rows()]
    exemplar_images = {name: images[:-1] for (_, name), (_, images) in zip(result.terms, rows, strict=False)}
    return labelled_rows([*rows, ("pixel space", pixel_arithmetic(result.expression, exemplar_images)[None])])


def save_gif(frames: torch.Tensor, path: str | Path, frame_ms: int = 80, scale: int = 1) -> Path:
    """An endlessly looping GIF of ``frames`` (T, C, H, W) in [-1, 1], each enlarged ``scale`` times."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures = [
        to_pil(p).resize((p.shape[1] * scale, p.shape[0] * scale), Image.Resampling.NEAREST) for p in to_uint8(frames)
    ]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
    return path
