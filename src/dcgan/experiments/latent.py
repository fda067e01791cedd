"""Latent-space experiments (paper section 6, figures 4, 7 and 8) as pure functions over z, and z files.

The maths takes and returns z tensors of shape (..., nz); the figure functions at the end
are the only parts that run G or draw. Every command that uses these functions saves the z
it used (see :func:`save_z`), so any figure can be regenerated from its ``.safetensors``
file, and any cell of it addressed as ``file.safetensors#12`` or ``file.safetensors#0,1,2``
(see :func:`load_z`). This module owns that z file format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ..core.images import labelled_rows, numbered_grid, save_image
from ..core.models import Generator
from ..core.sampling import render, seeded
from ..core.tensorfile import atomic_write, encode_tensors, load_tensors
from ..errors import DCGANError

Z_KEY = "z"  # the addressable tensor of every z file: one row per image, in figure order
META_KEY = "dcgan-latent"  # where a z file keeps its JSON metadata
Z_FILE_FIX = "pass a .safetensors file written by dcgan sample --sheet, interpolate, arithmetic or direction"


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


def refuse_overlap(concepts: dict[str, torch.Tensor]) -> None:
    """Refuse two concepts that share an exemplar z: their means would partly cancel, so the figure would show
    the shared samples' arithmetic, not the concepts' (two names given the same condition pick the same ones)."""
    names = list(concepts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = int((concepts[a][:, None, :] == concepts[b][None, :, :]).all(-1).any(1).sum())
            if shared:
                raise DCGANError(
                    f"{a!r} and {b!r} share {shared} of their exemplars, so they would cancel and the result would"
                    " mean nothing",
                    "give each concept its own exemplars: other sheet cells, or conditions that exclude each other"
                    " (e.g. Smiling&Male and Smiling&!Male)",
                )


def arithmetic(expression: str, concepts: dict[str, torch.Tensor]) -> torch.Tensor:
    """Y = the expression over the mean z of each concept's exemplars (the paper averages three)."""
    refuse_overlap(concepts)
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
    noisy = around(y, n, scale, seeded(seed))
    return Arithmetic(expression, exemplars, torch.cat([y[None], noisy]))


def direction(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Mean z of positive exemplars minus mean z of negative ones, e.g. the turn vector of figure 8."""
    refuse_overlap({"positive": positive, "negative": negative})
    return positive.mean(0) - negative.mean(0)


def along(z: torch.Tensor, vector: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
    """Each z (N, nz) moved by s * vector for every strength s: (N, S, nz), one row per z."""
    return z[:, None, :] + strengths.to(z.dtype)[None, :, None] * vector


def z_bytes(z: torch.Tensor, extra: dict[str, torch.Tensor] | None = None, **meta) -> bytes:
    """A z file's bytes: ``z`` (N, nz) under the key ``z``, plus any ``extra`` tensors and JSON ``meta`` (entries
    that are None left out: an unconditional model's label)."""
    tensors = {Z_KEY: z, **(extra or {})}
    meta = {k: v for k, v in meta.items() if v is not None}
    # copies: callers pass views of one another (a figure's rows and the whole), which safetensors refuses
    return encode_tensors({k: v.detach().float().clone() for k, v in tensors.items()}, meta, key=META_KEY)


def save_z(path: str | Path, z: torch.Tensor, extra: dict[str, torch.Tensor] | None = None, **meta) -> Path:
    """Write :func:`z_bytes` to ``path`` atomically."""
    path = Path(path)
    atomic_write(path, z_bytes(z, extra, **meta))
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
    z = load_tensors(path, "holds no z vectors", Z_FILE_FIX, key=META_KEY, names=[Z_KEY])[0][Z_KEY]
    return z[parse_indices(cells, z.shape[0])] if cells else z


def load_z_meta(path: str | Path) -> dict:
    """The JSON metadata :func:`save_z` stored beside the tensors."""
    return load_tensors(path, "holds no z vectors", Z_FILE_FIX, key=META_KEY, names=[])[1]


def save_sheet(images: torch.Tensor, z: torch.Tensor, path: str | Path, nrow: int | None = None, **meta) -> Path:
    """A numbered grid at ``path`` (PNG) plus every cell's z beside it (``.safetensors``, row i = cell i)."""
    path = save_image(numbered_grid(images, nrow), path)
    return save_z(path.with_suffix(".safetensors"), z, **meta)


def arithmetic_figure(G: Generator, result: Arithmetic) -> Image.Image:
    """Figure 7's layout: a row per concept (exemplars, then G(mean z)), the outputs, and pixel-space arithmetic."""
    rows = [(label, render(G, z)) for label, z in result.figure_rows()]
    exemplar_images = {name: images[:-1] for (_, name), (_, images) in zip(result.terms, rows, strict=False)}
    return labelled_rows([*rows, ("pixel space", pixel_arithmetic(result.expression, exemplar_images)[None])])
