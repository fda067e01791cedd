"""CelebA: ``img_align_celeba/*.jpg`` plus ``list_attr_celeba.txt``, in a folder or a zip.

The aligned images are 178x218 with the face in the middle; DCGAN practice crops the
centred 108x108 square and resizes it (the crop is scaled with the image, so half-size
copies get the same face crop). The 40 binary attributes (+1/-1) travel with the images,
and ``--where Smiling=1,Male=-1`` keeps only the matching faces. With the official
``list_landmarks_align_celeba.txt`` beside them, so do the 5 landmarks (eyes, nose, mouth
corners), moved into the returned crop (``imaging.points_in_crop``); without it there are none.
CelebA names the points by the side of the image they are on, not the person's: ``lefteye``
has the smaller x (the person's right eye). (``list_landmarks_celeba.txt`` is for the unaligned
in-the-wild images and is not read.) With the official ``list_eval_partition.txt`` beside them,
``--split train|valid|test`` selects a partition.
Also read: the official Google Drive layout (``Img/img_align_celeba.zip``, ``Anno/``, ``Eval/``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from ...errors import DCGANError
from ..imaging import points_in_crop
from ..source import Source
from .folder import Tree, is_image_file, is_zip, split_zip_path, tree_source

ATTR_FILE = "list_attr_celeba.txt"
LANDMARK_FILE = "list_landmarks_align_celeba.txt"
LANDMARK_NAMES = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]  # the file's column order
ALIGNED_SIZE = (178, 218)  # the official aligned images, in whose pixels the landmarks are given
MAX_COORDINATE = 1e5  # far outside any image: a landmark beyond it is a damaged row
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_FOLDER = "img_align_celeba"
FACE_CROP = 108 / 178  # the customary centre crop of the aligned 178x218 images, as a share of the width
SPLITS = {"train": 0, "valid": 1, "test": 2}


def detect(path: Path) -> bool:
    if path.is_dir():
        return any(path.glob(ATTR_FILE)) or any(path.glob(f"*/{ATTR_FILE}"))
    if is_zip(path) or split_zip_path(path):
        return Tree(path).find(ATTR_FILE) is not None
    return False


def parse_attributes(text: str, source: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """The official format: a count line, a line of attribute names, then ``name.jpg v1 ... vA``."""

    def row(fields: list[str], names: list[str]) -> np.ndarray:
        values = np.array(fields, dtype=np.int8)
        if len(values) != len(names) or not np.isin(values, (-1, 1)).all():
            raise ValueError(f"has {len(values)} values, not {len(names)} of +-1")
        return values

    return _parse_list(text, source, "attribute list", ATTR_FILE, row)


def parse_landmarks(text: str, source: str) -> dict[str, np.ndarray]:
    """The official format: a count line, the 10 column names (``lefteye_x lefteye_y ... rightmouth_y``), then
    ``name.jpg x1 y1 ... x5 y5`` in pixels of the aligned 178x218 image; each row becomes (5, 2) float32."""

    def row(fields: list[str], names: list[str]) -> np.ndarray:
        values = np.array(fields, dtype=np.float64)
        if len(values) != len(names):
            raise ValueError(f"has {len(values)} values, not {len(names)}")
        wild = values[~(np.abs(values) < MAX_COORDINATE)]  # nan and inf included
        if len(wild):
            raise ValueError(f"holds {wild[0]}, not a pixel coordinate")
        return values.astype(np.float32).reshape(len(LANDMARK_NAMES), 2)

    return _parse_list(text, source, "landmark list", LANDMARK_FILE, row, columns=2 * len(LANDMARK_NAMES))[1]


def _parse_list(
    text: str,
    source: str,
    kind: str,
    official: str,
    parse_row: Callable[[list[str], list[str]], np.ndarray],
    columns: int | None = None,
) -> tuple[list[str], dict[str, np.ndarray]]:
    """CelebA's list files: a count line, a line of column names (``columns`` of them, where that is fixed), then
    ``name.jpg`` and its values per line, which ``parse_row(values, names)`` checks and converts."""
    lines = text.splitlines()
    try:
        count = int(lines[0])
        names = lines[1].split()
        if columns is not None and len(names) != columns:
            raise ValueError(f"its header names {len(names)} columns, not {columns}")
        rows = {}
        for line in lines[2 : 2 + count]:
            image, *fields = line.split() or [""]
            try:
                rows[image] = parse_row(fields, names)
            except ValueError as exc:
                raise ValueError(f"row {image or '(empty)'} {exc}") from None
    except (ValueError, IndexError) as exc:
        raise DCGANError(f"{source} is not a CelebA {kind}: {exc}", f"use the official {official}") from None
    if len(rows) != count:
        raise DCGANError(f"{source} announces {count} rows but has {len(rows)}", "the file is truncated; get it again")
    return names, rows


def _image_tree(tree: Tree, path: Path) -> tuple[Tree, list[str]]:
    """Where the images are: ``img_align_celeba/`` in the tree, or the official ``img_align_celeba.zip``."""
    names = [n for n in tree.files if IMAGE_FOLDER in PurePosixPath(n).parts[:-1] and is_image_file(n)]
    inner_zip = tree.find(f"{IMAGE_FOLDER}.zip")
    if not names and inner_zip and tree.zip is None:
        inner = Tree(path / inner_zip)
        names = [n for n in inner.files if is_image_file(n)]
        return inner, names
    if not names:
        raise DCGANError(
            f"{path} has {ATTR_FILE} but no images in an {IMAGE_FOLDER}/ folder",
            f"put the aligned images (000001.jpg, ...) into {path}/{IMAGE_FOLDER}/",
        )
    return tree, names


def open_source(path: Path, resolution: int | None, channels: int | None, split: str | None = None) -> Source:
    tree = Tree(path)
    attr_file = tree.find(ATTR_FILE)
    assert attr_file is not None
    attribute_names, rows = parse_attributes(tree.read(attr_file).decode("ascii", "replace"), f"{path}/{attr_file}")
    image_tree, names = _image_tree(tree, path)
    names = [n for n in names if PurePosixPath(n).name in rows]
    if split is not None:
        names = _in_split(tree, names, split, path)
    if not names:
        raise DCGANError(f"none of the images in {path} is listed in {ATTR_FILE}", "use the matching attribute list")
    attributes = np.stack([rows[PurePosixPath(n).name] for n in names])
    return tree_source(
        image_tree,
        names,
        resolution,
        channels,
        crop_scale=FACE_CROP,
        description=f"CelebA at {path}",
        attributes=attributes,
        attribute_names=attribute_names,
        **_landmarks(tree, names, path),
    )


def _landmarks(tree: Tree, names: list[str], path: Path) -> dict:
    """The ``landmarks`` (N, 5, 2) of ``names`` in the returned crop, and their names; none without the file."""
    landmark_file = tree.find(LANDMARK_FILE)
    if landmark_file is None:
        return {}
    source = f"{path}/{landmark_file}"
    rows = parse_landmarks(tree.read(landmark_file).decode("ascii", "replace"), source)
    missing = [PurePosixPath(n).name for n in names if PurePosixPath(n).name not in rows]
    if missing:
        raise DCGANError(
            f"{source} has no row for {len(missing)} of the {len(names)} images (first: {missing[0]})",
            f"use the {LANDMARK_FILE} that matches the images, or remove it to load them without landmarks",
        )
    points = np.stack([rows[PurePosixPath(n).name] for n in names])
    return {"landmarks": points_in_crop(points, *ALIGNED_SIZE, FACE_CROP), "landmark_names": list(LANDMARK_NAMES)}


def _in_split(tree: Tree, names: list[str], split: str, path: Path) -> list[str]:
    if split not in SPLITS:
        raise DCGANError(f"CelebA has no split {split!r}", f"choose one of {', '.join(SPLITS)}")
    partition_file = tree.find(PARTITION_FILE)
    if partition_file is None:
        raise DCGANError(
            f"--split {split} needs {PARTITION_FILE}, which is not in {path}",
            f"put the official {PARTITION_FILE} beside {ATTR_FILE}, or leave out --split to use every image",
        )
    partition = parse_partition(tree.read(partition_file).decode("ascii", "replace"), f"{path}/{partition_file}")
    return [n for n in names if partition.get(PurePosixPath(n).name) == str(SPLITS[split])]


def parse_partition(text: str, source: str) -> dict[str, str]:
    """The official format: ``name.jpg P`` per line, P the split's number (0 train, 1 valid, 2 test)."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    damaged = next((fields for fields in rows if len(fields) != 2), None)
    if damaged is not None:
        raise DCGANError(
            f"{source} is not a CelebA partition list: the line {' '.join(damaged)[:60]!r} is not 'NAME SPLIT'",
            f"use the official {PARTITION_FILE}",
        )
    return dict(rows)
