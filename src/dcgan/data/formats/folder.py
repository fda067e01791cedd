"""A folder or .zip of images (searched recursively); images under class folders get the folder name as label.

Members of a zip are read in memory, never extracted (``ziparchive``: about 30 bytes per member
besides its name, where ``zipfile`` keeps 630); archives with unsafe member names or absurd sizes
are refused. ``root/<class>/any/sub/folders/img.png`` gets the label ``<class>``: the
folder directly under the dataset's root (folders every image shares, such as a zip's single
top folder, and split folders such as ``train/`` are not classes); ``class_folder="innermost"``
takes the folder holding each file instead. ``archive.zip/inner/folder`` reads one folder of a zip.
LSUN's ``export`` layout (``0/0/0/3/8/5/000385<...>.webp``: one folder for each of the first six characters
of the image's key) is one unlabelled set: those key folders are never classes.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from ...errors import DCGANError, warn
from ..imaging import DECODE_ERRORS, auto_resolution, decode_image, default_channels, fit_image
from ..source import Source
from .ziparchive import ZipArchive

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
MAX_MEMBER_BYTES = 1 << 28  # 256 MiB: one archive member declaring more is refused as a zip bomb


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


# what reading a damaged, encrypted or unsupported archive or member raises, besides OSError
ZIP_ERRORS = (ValueError, KeyError, struct.error, zlib.error, EOFError, MemoryError)


class Tree:
    """The files of a folder, a zip, or one folder inside a zip, as relative POSIX names."""

    def __init__(self, path: Path):
        self.path = path
        archive, inner = split_zip_path(path) or (path, "")
        self.zip: ZipArchive | None = None
        self.prefix = ""
        if path.is_dir():
            self.root = path
            self.files = sorted(_names_inside(path))
        elif is_zip(archive):
            self.zip = _open_zip(archive)
            self.prefix = inner.rstrip("/") + "/" if inner else ""
            self.files = [  # sorted, as the archive's names are
                n[len(self.prefix) :] for n in self.zip.names if n.startswith(self.prefix) and not n.endswith("/")
            ]
        else:  # one file
            self.root, self.files = path.parent, [path.name]

    def read(self, name: str) -> bytes:
        """The bytes of file ``name``; a zip member that cannot be extracted (damaged, encrypted, an
        unknown compression) is an ``OSError``, like an unreadable file in a folder."""
        if self.zip is None:
            return (self.root / name).read_bytes()
        try:
            return self.zip.read(self.prefix + name)
        except ZIP_ERRORS as exc:
            raise OSError(f"cannot extract {name} from {self.path}: {exc}") from None

    def find(self, filename: str) -> str | None:
        """The shallowest file called ``filename``."""
        hits = [f for f in self.files if PurePosixPath(f).name == filename]
        return min(hits, key=lambda f: (f.count("/"), f)) if hits else None


def files_under(folder: Path | str, prefix: str = "") -> Iterator[tuple[str, os.DirEntry]]:
    """Every file under ``folder`` (as ``Path.rglob`` finds them: symlinked folders are not entered) as
    (relative POSIX name, directory entry), in the order of sorted paths; one folder's listing held at a time,
    never a list of every file (a set of millions of images)."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from files_under(entry.path, f"{prefix}{entry.name}/")
        elif entry.is_file():
            yield prefix + entry.name, entry


def _names_inside(folder: Path) -> list[str]:
    """The relative names of the files under ``folder``. A dataset folder reads only what lies inside it: a
    symlink to a file elsewhere is refused."""
    root = folder.resolve()
    names, outside = [], []
    for name, entry in files_under(folder):
        names.append(name)
        if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(root):
            outside.append(Path(entry.path))
    if outside:
        raise DCGANError(
            f"{folder} holds {len(outside)} link(s) to files outside it (first: {outside[0]} -> {outside[0].resolve()})",
            "copy those files into the folder, or remove the links",
        )
    return names


def _open_zip(archive: Path) -> ZipArchive:
    try:
        zf = ZipArchive(archive)
    except (*ZIP_ERRORS, OSError) as exc:
        raise DCGANError(
            f"{archive} is not a readable zip file: {exc}", "check the file, or download it again"
        ) from None
    for name in zf.names:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if not name or name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise DCGANError(
                f"{archive} holds an unsafe member name {name!r} (empty, an absolute path or '..')",
                "this archive may be malicious; re-create it from the images you trust",
            )
    if len(zf.sizes) and zf.sizes.max() > MAX_MEMBER_BYTES:
        i = int(zf.sizes.argmax())
        raise DCGANError(
            f"{archive} member {zf.names[i]!r} declares {int(zf.sizes[i]):,} bytes uncompressed"
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


SPLIT_FOLDERS = {"train", "test", "val", "valid", "validation", "extra"}  # folders that split a set, not classes


def class_of(folders: tuple[str, ...], shared: int, class_folder: str) -> str:
    """The class of a file in ``folders`` (root first), of which the first ``shared`` hold every image."""
    if class_folder == "innermost":
        return folders[-1] if folders else ""
    below = [f for f in folders[shared:] if f not in SPLIT_FOLDERS]
    return below[0] if below else ""


KEY_FOLDERS = 6  # LSUN's export script files each image under the first six characters of its key


def folders_of(name: str) -> tuple[str, ...]:
    """The folders of file ``name``, root first, without LSUN's key folders (``a/b/c/d/e/f/abcdef<...>.webp``):
    they spread one set over up to 16^6 folders, and would otherwise be read as that many classes."""
    *folders, filename = PurePosixPath(name).parts
    # six non-empty folders spell the name's first six characters only when each folder is one character
    if len(folders) >= KEY_FOLDERS and "".join(folders[-KEY_FOLDERS:]) == filename[:KEY_FOLDERS]:
        del folders[-KEY_FOLDERS:]
    return tuple(folders)


def classes_of(names: list[str], class_folder: str = "top") -> list[str]:
    """The class of each of ``names`` (see the module's docstring); "" for an image outside any class folder."""

    def folders() -> Iterator[tuple[str, ...]]:  # parsed again on each pass: a list of them all would be large
        return (folders_of(n) for n in names)

    first = next(folders(), ())
    shared = 0
    while names and all(len(f) > shared + 1 and f[shared] == first[shared] for f in folders()):
        shared += 1  # a folder every image is in (keeping at least one level for the classes)
    return [sys.intern(class_of(f, shared, class_folder)) for f in folders()]


def class_labels(names: list[str], class_folder: str = "top") -> dict:
    """Labels from folder names, when there are at least two classes."""
    parents = classes_of(names, class_folder)
    classes = sorted(set(parents))
    if len(classes) < 2:
        return {}
    index = {c: i for i, c in enumerate(classes)}
    return {"labels": np.array([index[p] for p in parents], dtype=np.int64), "class_names": classes}


def detect(path: Path) -> bool:
    return path.is_dir() or is_zip(path) or split_zip_path(path) is not None or is_image_file(path)


def open_source(
    path: Path, resolution: int | None, channels: int | None, split: str | None = None, class_folder: str = "top"
) -> Source:
    """Every image under ``path`` (folder, zip, folder in a zip, or one file), labelled by class folder.

    ``split`` keeps the images under a folder of that name (``cifar10/train/cat/1.png``).
    """
    tree = Tree(path)
    names = [n for n in tree.files if is_image_file(n)]
    if split is not None:
        unsplit = ["/".join(part for part in PurePosixPath(n).parts if part != split) for n in names]
        every = set(classes_of(unsplit, class_folder))  # the classes of all splits together
        names = [n for n in names if split in PurePosixPath(n).parts[:-1]]
        if not names:
            raise DCGANError(f"no images under a folder named {split!r} in {path}", "check --split, or leave it out")
        # a split's names share the split folder, which classes_of skips, so their classes are named alike
        lost = sorted(every - set(classes_of(names, class_folder)))
        if len(every) > 1 and lost:
            warn(
                f"the {split!r} split of {path} has no images of {len(lost)} class(es): {', '.join(lost[:10])}",
                "its labels are numbered without them; add images of those classes to it",
            )
    return tree_source(tree, names, resolution, channels, **class_labels(names, class_folder))


def _first_readable(tree: Tree, names: list[str]) -> Image.Image:
    """The first decodable image, which sets the default resolution and channels."""
    first_error = ""
    for name in names[:100]:
        try:
            return decode_image(tree.read(name))
        except DECODE_ERRORS as exc:
            first_error = first_error or f"{name}: {exc}"
    raise DCGANError(
        f"none of the first {min(len(names), 100)} image files in {tree.path} can be read (first: {first_error})",
        "check the files, or pass another --data",
    )
