"""Decoding one image to the training size: the centred square crop and resample every format shares.

Each image is cropped to the centred square of its shorter side (or a smaller centred
square, as CelebA's face crop) and resampled to the training resolution in one Pillow call
(``resize(box=...)``), then converted to L or RGB; transparent images are composited on
white. Pixel counts no real image has (decompression bombs) are refused.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..core.models import MIN_RESOLUTION
from .source import Source

GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
AUTO_MAX_RESOLUTION = 64  # the paper's size: larger needs an explicit --resolution
MAX_PIXELS = 1 << 26  # 8192 x 8192: far above any training image, far below a decompression bomb
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def auto_resolution(width: int, height: int) -> int:
    """The shorter side rounded up to a power of two, within [16, 64]."""
    side = max(MIN_RESOLUTION, min(width, height))
    return min(AUTO_MAX_RESOLUTION, 1 << (side - 1).bit_length())


def default_channels(img: Image.Image) -> int:
    return 1 if img.mode in GRAY_MODES else 3


def fit_image(img: Image.Image, resolution: int, channels: int, crop_scale: float = 1.0) -> np.ndarray:
    """Centre square crop (``crop_scale`` x the shorter side) + resample to (resolution, resolution), as (C, H, W)."""
    mode = "L" if channels == 1 else "RGB"
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: rescale, don't clip
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8))
    if img.mode in ("LA", "RGBA", "PA", "La", "RGBa") or "transparency" in img.info:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img.convert("RGBA"))
    if img.mode != mode:
        img = img.convert(mode)
    box = crop_box(*img.size, crop_scale)
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC, box=box, reducing_gap=None)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def crop_box(width: float, height: float, crop_scale: float = 1.0) -> tuple[float, float, float, float]:
    """The centred square :func:`fit_image` resamples, as (left, top, right, bottom) pixel edges: its side is
    ``crop_scale`` x the shorter side, not rounded, so a half-size copy gets exactly the half-size square."""
    side = min(width, height) * crop_scale
    return ((width - side) / 2, (height - side) / 2, (width + side) / 2, (height + side) / 2)


def points_in_crop(points: np.ndarray, width: float, height: float, crop_scale: float = 1.0) -> np.ndarray:
    """Pixel positions (..., 2) as (x, y) in a ``width`` x ``height`` image -> where they land in the square
    :func:`fit_image` returns, as float32 fractions of its side (0: its left/top edge, 1: its right/bottom
    edge; points outside the crop give values below 0 or above 1, kept as they are). Fractions hold at every
    resolution: the resample maps the crop's edges to the output's edges. Pixel (x, y) is the one whose
    centre lies at (x + 0.5, y + 0.5) in edge coordinates, as in Pillow's resample."""
    left, top, right, _ = crop_box(width, height, crop_scale)
    return ((np.asarray(points, dtype=np.float64) + 0.5 - (left, top)) / (right - left)).astype(np.float32)


def decode_image(data: bytes) -> Image.Image:
    """Bytes -> a loaded image, refusing pixel counts no real image has (decompression bombs)."""
    img = Image.open(io.BytesIO(data))
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise Image.DecompressionBombError(
            f"{w}x{h} pixels is over the limit of {MAX_PIXELS:,} (a decompression bomb?)"
        )
    img.load()
    return img


def array_source(raw: np.ndarray, resolution: int | None, channels: int | None, description: str, **meta) -> Source:
    """Grayscale (N, H, W) or colour (N, H, W, 3) uint8 arrays, decoded lazily to (C, R, R)."""
    h, w = raw.shape[1:3]
    own_channels = 1 if raw.ndim == 3 else raw.shape[3]
    resolution = resolution or auto_resolution(w, h)
    channels = channels or own_channels
    as_is = (h, w) == (resolution, resolution) and channels == own_channels

    def decode(indices: Sequence[int]) -> list[np.ndarray]:
        batch = raw[np.asarray(indices, dtype=np.int64)]
        if as_is:
            return list(batch[:, None] if batch.ndim == 3 else batch.transpose(0, 3, 1, 2))
        return [fit_image(Image.fromarray(img), resolution, channels) for img in batch]

    return Source(len(raw), resolution, channels, decode, description=description, **meta)
