"""Image tensors and image files: the [-1, 1] <-> uint8 conversions, grids, labelled rows and GIFs.

Every figure dcgan writes goes through here, so a grid from ``dcgan sample`` and the cells
of a numbered sheet or an arithmetic figure are laid out, and rounded, the same way.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .progress import tracked

PADDING = 2  # pixels between grid cells


def to_unit_range(batch: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the paper's only preprocessing."""
    return batch.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] (N, C, H, W) floats -> (N, H, W, C) uint8."""
    return (
        ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    )


def to_pil(pixels: np.ndarray) -> Image.Image:
    """(H, W, C) uint8 -> a grey (C = 1) or RGB picture."""
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = PADDING) -> np.ndarray:
    """Tile images (N, C, H, W) in [-1, 1] into one (H', W', C) uint8 array, ``nrow`` per row (default: square)."""
    pixels = to_uint8(images)
    n, h, w, c = pixels.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = np.zeros((padding + ncol * (h + padding), padding + nrow * (w + padding), c), dtype=np.uint8)
    for i in range(n):
        x, y = cell_origin(i, nrow, h, w, padding)
        grid[y : y + h, x : x + w] = pixels[i]
    return grid


def cell_origin(i: int, nrow: int, h: int, w: int, padding: int = PADDING) -> tuple[int, int]:
    """(x, y) of the top-left pixel of cell ``i`` in a grid of ``nrow`` cells of h x w per row."""
    r, q = divmod(i, nrow)
    return padding + q * (w + padding), padding + r * (h + padding)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(make_grid(images, nrow)).save(path)
    return path


def save_separate(images: torch.Tensor, folder: str | Path, stem: str = "sample", progress: bool = False) -> list[Path]:
    """One PNG per image: ``folder/stem_0000.png`` ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, arr in tracked(enumerate(to_uint8(images)), len(images), "writing", progress, "img"):
        paths.append(folder / f"{stem}_{i:04d}.png")
        to_pil(arr).save(paths[-1])
    return paths


def label_font(cell_height: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Cell numbers a fifth of a cell high (7 px at least, still legible): small in the corner of a 32x32
    cell, where the fixed default font would hide a third of the image, and not tiny on 128x128 cells."""
    return ImageFont.load_default(size=max(7, cell_height // 5))


def numbered_grid(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """A grid of ``images`` with each cell's index in its top-left corner, so cells can be named ``#12``."""
    grid = to_pil(make_grid(images, nrow)).convert("RGB")
    n, _, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    draw = ImageDraw.Draw(grid)
    font = label_font(h)
    for i in range(n):
        x, y = cell_origin(i, nrow, h, w)
        left, top, right, bottom = draw.textbbox((0, 0), str(i), font=font)
        draw.rectangle((x, y, x + right - left + 1, y + bottom - top + 1), fill=(0, 0, 0))
        draw.text((x + 1 - left, y + 1 - top), str(i), fill=(255, 255, 0), font=font)
    return grid


def labelled_rows(rows: list[tuple[str, torch.Tensor]], gap: int = PADDING, label_width: int = 0) -> Image.Image:
    """One row of images per (label, images (N, C, H, W) in [-1, 1]), with the label written to its left.

    Rows may hold different numbers of images: the arithmetic figure (exemplars, G(mean),
    results) and any before/after comparison.
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
            canvas.paste(to_pil(pixels).convert("RGB"), (label_width + q * (w + gap), y))
    return canvas


def save_gif(frames: torch.Tensor, path: str | Path, frame_ms: int = 80, scale: int = 1) -> Path:
    """An endlessly looping GIF of ``frames`` (T, C, H, W) in [-1, 1], each enlarged ``scale`` times."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures = [
        to_pil(p).resize((p.shape[1] * scale, p.shape[0] * scale), Image.Resampling.NEAREST) for p in to_uint8(frames)
    ]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
    return path
