"""Image files in a folder or a .zip (searched recursively), and the shared resize/crop.

Each image is cropped to the centred square of its shorter side (or a smaller centred
square, as CelebA's face crop) and resampled to the training resolution in one Pillow call
(``resize(box=...)``), then converted to L or RGB; transparent images are composited on
white. Members of a zip are read in memory, never extracted; archives with unsafe member
names or absurd sizes, and images with absurd pixel counts, are refused. Images under
class folders (``root/<class>/img.png``) get the folder name as label.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DCGANError
from ..models import MAX_RESOLUTION, MIN_RESOLUTION
from .source import Source

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
AUTO_MAX_RESOLUTION = 64  # the paper's size: larger needs an explicit --resolution
MAX_PIXELS = 1 << 26  # 8192 x 8192: far above any training image, far below a decompression bomb
MAX_MEMBER_BYTES = 1 << 28  # 256 MiB: one archive member declaring more is refused as a zip bomb
DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


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
    w, h = img.size
    side = min(w, h) * crop_scale
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    if (w, h) != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC, box=box, reducing_gap=None)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


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


class Tree:
    """The files of a folder, a zip, or one folder inside a zip, as relative POSIX names."""

    def __init__(self, path: Path):
        self.path = path
        archive, inner = split_zip_path(path) or (path, "")
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        if path.is_dir():
            self.root = path
            self.files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
        elif is_zip(archive):
            self.zip = _open_zip(archive)
            self.prefix = inner.rstrip("/") + "/" if inner else ""
            self.files = sorted(
                i.filename[len(self.prefix) :]
                for i in self.zip.infolist()
                if not i.is_dir() and i.filename.startswith(self.prefix)
            )
        else:  # one file
            self.root, self.files = path.parent, [path.name]

    def read(self, name: str) -> bytes:
        return self.zip.read(self.prefix + name) if self.zip is not None else (self.root / name).read_bytes()

    def find(self, filename: str) -> str | None:
        """The shallowest file called ``filename``."""
        hits = [f for f in self.files if PurePosixPath(f).name == filename]
        return min(hits, key=lambda f: (f.count("/"), f)) if hits else None


def _open_zip(archive: Path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DCGANError(
            f"{archive} is not a readable zip file: {exc}", "check the file, or download it again"
        ) from None
    for info in zf.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise DCGANError(
                f"{archive} holds an unsafe member name {info.filename!r} (an absolute path or '..')",
                "this archive may be malicious; re-create it from the images you trust",
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise DCGANError(
                f"{archive} member {info.filename!r} declares {info.file_size:,} bytes uncompressed"
                f" (limit {MAX_MEMBER_BYTES:,}; a zip bomb?)",
                "this archive may be malicious; re-create it from the images you trust",
            )
    return zf


def tree_source(
    tree: Tree,
    names: list[str],
    resolution: int | None,
    channels: int | None,
    crop_scale: float = 1.0,
    description: str = "",
    **meta,
) -> Source:
    """Image files ``names`` of ``tree``; the first readable one sets the default size and channels."""
    if not names:
        raise DCGANError(
            f"no image files found in {tree.path}", f"put images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it"
        )
    if resolution is None or channels is None:
        first = _first_readable(tree, names)
        resolution = resolution or auto_resolution(*first.size)
        channels = channels or default_channels(first)

    def decode(indices: Sequence[int]) -> list[np.ndarray | str]:
        out: list[np.ndarray | str] = []
        for i in indices:
            try:
                out.append(fit_image(decode_image(tree.read(names[i])), resolution, channels, crop_scale))
            except DECODE_ERRORS as exc:
                out.append(f"{names[i]}: {exc}")
        return out

    return Source(len(names), resolution, channels, decode, description=description or str(tree.path), **meta)


def class_labels(names: list[str]) -> dict:
    """Labels from parent folder names, when there are at least two classes."""
    parents = [PurePosixPath(n).parent.name for n in names]
    classes = sorted(set(parents))
    if len(classes) < 2:
        return {}
    index = {c: i for i, c in enumerate(classes)}
    return {"labels": np.array([index[p] for p in parents], dtype=np.int64), "class_names": classes}


def detect(path: Path) -> bool:
    return path.is_dir() or is_zip(path) or split_zip_path(path) is not None or is_image_file(path)


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    """Every image under ``path`` (folder, zip, folder in a zip, or one file), labelled by class folder.

    ``split`` keeps the images under a folder of that name (``cifar10/train/cat/1.png``).
    """
    tree = Tree(path)
    names = [n for n in tree.files if is_image_file(n)]
    if split is not None:
        names = [n for n in names if split in PurePosixPath(n).parts[:-1]]
        if not names:
            raise DCGANError(f"no images under a folder named {split!r} in {path}", "check --split, or leave it out")
    return tree_source(tree, names, resolution, channels, **class_labels(names))


def _first_readable(tree: Tree, names: list[str]) -> Image.Image:
    """The first decodable image, which sets the default resolution and channels."""
    for name in names[:100]:
        try:
            return decode_image(tree.read(name))
        except DECODE_ERRORS:
            continue
    raise DCGANError(
        f"none of the first {min(len(names), 100)} image files in {tree.path} can be read",
        "check the files, or pass another --data",
    )
