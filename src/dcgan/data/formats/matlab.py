"""MATLAB v5 ``.mat`` files, as far as SVHN needs them: named numeric arrays, compressed or not.

scipy's reader crashes the whole process (a segmentation fault, not an exception) on some
damaged files, so a hostile ``train_32x32.mat`` could take the user's process down with no
message. This reader is numpy and zlib only: every tag's size is checked against the bytes that
hold it before anything is read, so a damaged file is one ``ValueError``.

The layout (MathWorks, "MAT-File Format"): a 128-byte header ending in the version and an
endian mark, then data elements. Each element is a tag (type, byte count) and its bytes, padded
to 8; a small element packs both into the tag's 8 bytes. A variable is an miMATRIX element whose
sub-elements are the array flags (class), the dimensions, the name and the real part, stored
column-major in any numeric type; miCOMPRESSED wraps one element in a zlib stream.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

HEADER_BYTES = 128
MI_MATRIX, MI_COMPRESSED = 14, 15
MI_NUMERIC = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
MI_INT8, MI_INT32, MI_UINT32 = 1, 5, 6
NUMERIC_CLASSES = range(6, 16)  # mxDOUBLE_CLASS .. mxUINT64_CLASS
COMPLEX_FLAG = 0x0800


def _uint(data: bytes | memoryview, endian: str) -> int:
    return int.from_bytes(data, "little" if endian == "<" else "big")


class _Reader:
    """Elements in ``data`` (one file, or one decompressed element), every size checked before use."""

    def __init__(self, data: bytes | memoryview, endian: str) -> None:
        self.data, self.endian, self.at = memoryview(data), endian, 0

    def uint32(self, at: int) -> int:
        return _uint(self.data[at : at + 4], self.endian)

    def element(self) -> tuple[int, memoryview]:
        """The next element's type and bytes; moves past it (and its padding)."""
        if self.at + 8 > len(self.data):
            raise ValueError(f"a data element's tag is cut off at byte {self.at}")
        first = self.uint32(self.at)
        if first >> 16:  # a small element: size and type in the first 4 bytes, the data in the next 4
            kind, size = first & 0xFFFF, first >> 16
            if size > 4:
                raise ValueError(f"a small data element declares {size} bytes (at most 4)")
            body = self.data[self.at + 4 : self.at + 4 + size]
            self.at += 8
            return kind, body
        kind, size = first, self.uint32(self.at + 4)
        start = self.at + 8
        if size > len(self.data) - start:
            raise ValueError(f"a data element declares {size:,} bytes, {len(self.data) - start:,} remain")
        padding = 0 if kind == MI_COMPRESSED else -size % 8
        self.at = min(start + size + padding, len(self.data))
        return kind, self.data[start : start + size]

    def done(self) -> bool:
        return self.at >= len(self.data)


def _inflate(body: memoryview) -> bytes:
    """One compressed element; the output is bounded by zlib itself (about 1,000x the input at most)."""
    try:
        return zlib.decompress(body)
    except zlib.error as exc:
        raise ValueError(f"a compressed element is damaged ({exc})") from None


def _array(body: memoryview, endian: str) -> tuple[str, np.ndarray | None]:
    """An miMATRIX element's name and numeric array (column-major, as MATLAB stores it); None for other kinds."""
    parts = _Reader(body, endian)
    flags_type, flags = parts.element()
    if flags_type != MI_UINT32 or len(flags) != 8:
        raise ValueError("a variable's array flags are missing")
    flag_word = _uint(flags[:4], endian)
    dims_type, dims_bytes = parts.element()
    name_type, name = parts.element()
    if dims_type != MI_INT32 or len(dims_bytes) % 4 or len(dims_bytes) < 8 or name_type != MI_INT8:
        raise ValueError("a variable's dimensions or name are missing")
    dims = np.frombuffer(dims_bytes, f"{endian}i4")
    name = bytes(name).decode("ascii", "replace")
    if flag_word & 0xFF not in NUMERIC_CLASSES or flag_word & COMPLEX_FLAG:
        return name, None  # text, cells, structs, sparse or complex: not what SVHN holds
    if (dims < 0).any():
        raise ValueError(f"variable {name!r} has negative dimensions {dims.tolist()}")
    real_type, real = parts.element()
    if real_type not in MI_NUMERIC:
        raise ValueError(f"variable {name!r} is stored in unknown type {real_type}")
    dtype = np.dtype(f"{endian}{MI_NUMERIC[real_type]}")
    count = int(np.prod(dims.astype(object)))
    if count * dtype.itemsize != len(real):
        raise ValueError(f"variable {name!r} of shape {dims.tolist()} is stored in {len(real):,} bytes")
    return name, np.frombuffer(real, dtype).reshape(dims.tolist(), order="F")


def read_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The numeric arrays called ``names`` in the MAT v5 file ``path`` (those absent are left out)."""
    data = Path(path).read_bytes()
    if len(data) < HEADER_BYTES:
        raise ValueError(f"{len(data)} bytes, shorter than a MAT v5 header")
    mark = data[126:128]
    endian = {b"IM": "<", b"MI": ">"}.get(mark)
    if endian is None:
        raise ValueError("not a MATLAB v5 file (no endian mark at byte 126)")
    if _uint(data[124:126], endian) != 0x0100:
        raise ValueError("not a MATLAB v5 file (version is not 0x0100; v7.3 files are HDF5)")
    found: dict[str, np.ndarray] = {}
    elements = _Reader(memoryview(data)[HEADER_BYTES:], endian)
    while not elements.done() and len(found) < len(names):
        kind, body = elements.element()
        if kind == MI_COMPRESSED:
            kind, body = _Reader(_inflate(body), endian).element()
        if kind == MI_MATRIX and len(body):
            name, array = _array(body, endian)
            if name in names and array is not None:
                found[name] = array
    return found
