"""Image files in a folder or a .zip (searched recursively), and the shared resize/crop.

Each image is cropped to the centred square of its shorter side and resampled to the
training resolution in one Pillow call (``resize(box=...)``), then converted to L or RGB.
Members of a zip are read in memory, never extracted, so archive paths cannot escape.
Images under class folders (``root/<class>/img.png``) get the folder name as label.
"""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import DCGANError
from ..models import MAX_RESOLUTION, MIN_RESOLUTION

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
AUTO_MAX_RESOLUTION = 64  # the paper's size: larger needs an explicit --resolution


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def split_zip_path(path: Path) -> tuple[Path, str] | None:
    """``data.zip/inner/folder`` -> (``data.zip``, ``inner/folder``): a folder inside an archive."""
    for parent in path.parents:
        if is_zip(parent):
            return parent, path.relative_to(parent).as_posix()
    return None


def is_image_file(name: str | Path) -> bool:
    return PurePosixPath(str(name)).suffix.lower() in IMAGE_SUFFIXES


def auto_resolution(width: int, height: int) -> int:
    """The shorter side rounded up to a power of two, within [16, 64]."""
    side = max(MIN_RESOLUTION, min(width, height))
    return min(AUTO_MAX_RESOLUTION, MAX_RESOLUTION, 1 << (side - 1).bit_length())


def fit_image(img: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """Centre square crop + resample to (resolution, resolution), as (C, H, W) uint8."""
    mode = "L" if channels == 1 else "RGB"
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: rescale, don't clip
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257.0).clip(0, 255).astype(np.uint8))
    if img.mode != mode:
        img = img.convert("RGBA").convert(mode) if img.mode == "P" else img.convert(mode)
    w, h = img.size
    side = min(w, h)
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    if (w, h) != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC, box=box, reducing_gap=None)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def from_arrays(raw: np.ndarray, resolution: int | None, channels: int | None) -> torch.Tensor:
    """Grayscale (N, H, W) or colour (N, H, W, 3) uint8 arrays to (N, C, R, R)."""
    n, h, w = raw.shape[:3]
    resolution = resolution or auto_resolution(w, h)
    channels = channels or (1 if raw.ndim == 3 else 3)
    if (h, w) == (resolution, resolution) and channels == (1 if raw.ndim == 3 else raw.shape[3]):
        out = raw[:, None] if raw.ndim == 3 else raw.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(out))
    out = np.empty((n, channels, resolution, resolution), dtype=np.uint8)
    for i in range(n):
        out[i] = fit_image(Image.fromarray(raw[i]), resolution, channels)
    return torch.from_numpy(out)


class _Collection:
    """The image files of a folder or zip: names plus a way to read each one's bytes."""

    def __init__(self, path: Path):
        self.path = path
        archive, inner = split_zip_path(path) or (path, "")
        if path.is_dir():
            self.zip = None
            self.names = sorted(
                str(p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file() and is_image_file(p)
            )
        elif is_zip(archive):
            try:
                self.zip = zipfile.ZipFile(archive)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DCGANError(
                    f"{archive} is not a readable zip file: {exc}", "check the file, or download it again"
                ) from None
            prefix = inner.rstrip("/") + "/" if inner else ""
            self.names = sorted(
                i.filename
                for i in self.zip.infolist()
                if not i.is_dir() and i.filename.startswith(prefix) and is_image_file(i.filename)
            )
        else:  # one image file
            self.zip, self.path, self.names = None, path.parent, [path.name]
        if not self.names:
            raise DCGANError(
                f"no image files found in {path}", f"put images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it"
            )

    def open(self, name: str) -> Image.Image:
        data = self.zip.read(name) if self.zip is not None else (self.path / name).read_bytes()
        img = Image.open(io.BytesIO(data))
        img.load()
        return img

    def labels(self) -> tuple[list[int] | None, list[str]]:
        parents = [PurePosixPath(n).parent.name for n in self.names]
        classes = sorted(set(parents))
        if len(classes) < 2:
            return None, []
        index = {c: i for i, c in enumerate(classes)}
        return [index[p] for p in parents], classes


def read_image_collection(
    path: Path, resolution: int | None, channels: int | None, limit: int | None, skip_bad: bool
) -> dict:
    """Decode every image of a folder/zip (threads: Pillow releases the GIL while decoding)."""
    coll = _Collection(path)
    labels, classes = coll.labels()
    names = coll.names[:limit]
    first = _first_readable(coll, names)
    resolution = resolution or auto_resolution(*first.size)
    channels = channels or (1 if first.mode in GRAY_MODES else 3)

    def decode(name: str) -> np.ndarray | str:
        try:
            return fit_image(coll.open(name), resolution, channels)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            return f"{name}: {exc}"

    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(decode, names))
    bad = [d for d in decoded if isinstance(d, str)]
    if bad and not skip_bad:
        listing = "\n    ".join(bad[:5]) + (f"\n    ... and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DCGANError(
            f"{len(bad)} of {len(names)} image files in {path} cannot be read:\n    {listing}",
            "fix or remove them, or pass --skip-bad to skip them",
        )
    keep = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
    if not keep:
        raise DCGANError(f"none of the {len(names)} image files in {path} can be read", "check the files")
    images = torch.from_numpy(np.stack([decoded[i] for i in keep]))
    label_tensor = torch.tensor([labels[i] for i in keep], dtype=torch.int64) if labels is not None else None
    return {"images": images, "labels": label_tensor, "class_names": classes, "skipped": len(bad)}


def _first_readable(coll: _Collection, names: list[str]) -> Image.Image:
    """The first decodable image, which sets the default resolution and channels."""
    for name in names[:100]:
        try:
            return coll.open(name)
        except Exception:
            continue
    raise DCGANError(
        f"none of the first {min(len(names), 100)} image files in {coll.path} can be read",
        "check the files, or pass another --data",
    )
