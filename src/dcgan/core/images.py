"""Image tensors and image files: the [-1, 1] <-> uint8 conversions, grids, labelled rows and GIFs.

Every figure dcgan writes goes through here, so a grid from ``dcgan sample`` and the cells
of a numbered sheet or an arithmetic figure are laid out, and rounded, the same way.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import DCGANError
from .tensorfile import atomic_write, check_writable_file

PADDING = 2  # pixels between grid cells


def to_unit_range(batch: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the paper's only preprocessing."""
    return batch.float().div_(127.5).sub_(1.0)


def to_uint8_tensor(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] (N, C, H, W) floats -> (N, C, H, W) uint8, rounded as every saved image is."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def resized_unit_range(batch: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float [-1, 1] at ``size`` x ``size`` (bilinear) with ``channels`` (grey repeated
    to RGB, RGB averaged to grey): how a feature network trained at one size reads images of any other."""
    x = to_unit_range(batch)
    if x.shape[1] != channels:
        x = x.expand(-1, 3, -1, -1) if channels == 3 else x.mean(dim=1, keepdim=True)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] (N, C, H, W) floats -> (N, H, W, C) uint8."""
    return to_uint8_tensor(images).permute(0, 2, 3, 1).numpy()


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


def image_format(path: str | Path) -> str:
    """The Pillow format a file name asks for (``.png`` -> PNG); an unknown suffix is a clear error."""
    suffix = Path(path).suffix.lower()
    formats = Image.registered_extensions()
    if suffix not in formats or formats[suffix] not in Image.SAVE:
        raise DCGANError(f"cannot write an image to {path}: unknown suffix {suffix!r}", "name a .png, .jpg or .webp")
    return formats[suffix]


def check_image_output(path: str | Path) -> None:
    """Fail early, before any work: an image path with a known suffix, in a folder that takes files."""
    image_format(path)
    check_writable_file(Path(path))


def save_image(picture: Image.Image, path: str | Path, **options) -> Path:
    """Encode ``picture`` by the suffix of ``path`` and write it atomically (a failed write is one clear error)."""
    path = Path(path)
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format(path), **options)
    atomic_write(path, buffer.getvalue())
    return path


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    return save_image(to_pil(make_grid(images, nrow)), path)


def save_separate(images: torch.Tensor, folder: str | Path, stem: str = "sample", first: int = 0) -> list[Path]:
    """One PNG per image: ``folder/stem_0000.png`` ... (numbered from ``first``)."""
    folder = Path(folder)
    return [save_image(to_pil(arr), folder / f"{stem}_{first + i:04d}.png") for i, arr in enumerate(to_uint8(images))]


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
    pictures = [
        to_pil(p).resize((p.shape[1] * scale, p.shape[0] * scale), Image.Resampling.NEAREST) for p in to_uint8(frames)
    ]
    return save_image(pictures[0], path, save_all=True, append_images=pictures[1:], duration=frame_ms, loop=0)
