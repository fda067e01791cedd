"""A zip archive's members, read from its central directory into compact arrays.

Python's ``zipfile`` keeps a ``ZipInfo`` object of about 630 bytes per member for as long as the
archive is open: 0.6 GB for a zip of a million images, 1.9 GB for three million. A data set only
needs each member's name and where its bytes are, so this reader keeps the names (a sorted list
of strings, as a folder's listing is) and five numbers per member in numpy arrays, about 30 bytes.
Members are read with positional reads, so threads may read at once. It reads what image sets
use: stored, deflated and bzip2 members, zip64 archives, and archives with bytes before the
first member (self-extracting ones); anything else (encryption, other compressions) is an
``OSError`` when the member is read, and a damaged directory a ``ValueError`` when it is opened.
"""

from __future__ import annotations

import bisect
import bz2
import itertools
import os
import struct
import zlib
from array import array
from pathlib import Path

import numpy as np

END = struct.Struct("<4s4H2LH")  # end of central directory record
END64_LOCATOR = struct.Struct("<4sLQL")
END64 = struct.Struct("<4sQ2H2L4Q")
ENTRY = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header
LOCAL = struct.Struct("<4s2B4HL2L2H")  # local file header
COMMENT_MAX = 1 << 16
STORED, DEFLATED, BZIP2 = 0, 8, 12
READ_BLOCK = 1 << 22  # the central directory is parsed this many bytes at a time


class ZipArchive:
    """The members of ``path``: ``names`` (sorted), their uncompressed ``sizes``, and :meth:`read`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDONLY)
        try:
            self._read_directory()
        except BaseException:
            os.close(self.fd)
            self.fd = -1  # closed: __del__ must not close a number the system may have given to another file
            raise

    def __del__(self) -> None:
        fd, self.fd = getattr(self, "fd", -1), -1
        if fd >= 0:
            os.close(fd)

    def _read_directory(self) -> None:
        size = os.fstat(self.fd).st_size
        count, directory_size, directory_at, end_at = _end_record(self.fd, size)
        shift = end_at - directory_size - directory_at  # bytes before the archive proper (a self-extracting stub)
        if shift < 0 or directory_at + directory_size > size:
            raise ValueError("the central directory lies outside the file")
        names: list[str] = []
        columns = [array("q") for _ in range(5)]  # local header, compressed size, size, method and flags, CRC
        buffer, pos, at, stop = b"", 0, directory_at + shift, directory_at + shift + directory_size

        def have(wanted: int) -> bool:  # at least ``wanted`` bytes from ``pos`` in the buffer, reading on if need be
            nonlocal buffer, pos, at
            if len(buffer) - pos < wanted and at < stop:
                buffer = buffer[pos:] + os.pread(self.fd, min(max(READ_BLOCK, wanted), stop - at), at)
                at, pos = at + min(max(READ_BLOCK, wanted), stop - at), 0
            return len(buffer) - pos >= wanted

        while len(names) < count:
            if not have(ENTRY.size):
                raise ValueError(f"the central directory ends after {len(names)} of {count} members")
            fields = ENTRY.unpack_from(buffer, pos)
            if fields[0] != b"PK\x01\x02":
                raise ValueError(f"entry {len(names)} of the central directory is damaged")
            flags, method, crc, packed, unpacked = fields[5], fields[6], fields[9], fields[10], fields[11]
            name_length, extra_length, comment_length, offset = fields[12], fields[13], fields[14], fields[18]
            if not have(ENTRY.size + name_length + extra_length + comment_length):
                raise ValueError(f"the central directory ends inside entry {len(names)}")
            name_at = pos + ENTRY.size
            extra = buffer[name_at + name_length : name_at + name_length + extra_length]
            unpacked, packed, offset = _zip64_sizes(extra, unpacked, packed, offset)
            names.append(buffer[name_at : name_at + name_length].decode("utf-8" if flags & 0x800 else "cp437"))
            for column, value in zip(
                columns, (offset + shift, packed, unpacked, method << 16 | flags, crc), strict=True
            ):
                column.append(value)
            pos = name_at + name_length + extra_length + comment_length
        arrays = [np.frombuffer(column, dtype=np.int64) for column in columns]
        if any(a > b for a, b in itertools.pairwise(names)):  # most archives list their members sorted already
            order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.int64)
            names, arrays = [names[i] for i in order], [a[order] for a in arrays]
        self.names = names
        self.offsets, self.packed_sizes, self.sizes = arrays[0], arrays[1], arrays[2]
        self.kinds, self.crcs = arrays[3].astype(np.uint32), arrays[4].astype(np.uint32)

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of member ``name``, checked against its CRC-32."""
        i = bisect.bisect_left(self.names, name)
        if i == len(self.names) or self.names[i] != name:
            raise KeyError(name)
        method, flags = int(self.kinds[i]) >> 16, int(self.kinds[i]) & 0xFFFF
        if flags & 0x1:
            raise OSError("the member is encrypted")
        header = os.pread(self.fd, LOCAL.size, int(self.offsets[i]))
        if len(header) < LOCAL.size or header[:4] != b"PK\x03\x04":
            raise OSError("its local header is damaged")
        fields = LOCAL.unpack(header)
        start = int(self.offsets[i]) + LOCAL.size + fields[10] + fields[11]
        packed = os.pread(self.fd, int(self.packed_sizes[i]), start)
        if len(packed) < self.packed_sizes[i]:
            raise OSError("the member is cut short")
        if method == STORED:
            data = packed
        elif method == DEFLATED:
            data = zlib.decompressobj(-15).decompress(packed, int(self.sizes[i]) + 1)
        elif method == BZIP2:
            data = bz2.BZ2Decompressor().decompress(packed, int(self.sizes[i]) + 1)
        else:
            raise OSError(f"compression method {method} is not supported (stored, deflate and bzip2 are)")
        if len(data) != self.sizes[i] or zlib.crc32(data) != self.crcs[i]:
            raise OSError("its data is damaged (size or CRC-32 differs from the directory's)")
        return data


def _end_record(fd: int, size: int) -> tuple[int, int, int, int]:
    """Members, central directory size and offset, and where the end record starts (zip64 where present)."""
    tail_at = max(0, size - END.size - COMMENT_MAX)
    tail = os.pread(fd, size - tail_at, tail_at)
    found = tail.rfind(b"PK\x05\x06")
    if found < 0 or len(tail) - found < END.size:
        raise ValueError("no end of central directory record (not a zip file, or cut short)")
    _, disk, _, _, count, directory_size, directory_at, _ = END.unpack_from(tail, found)
    end_at = tail_at + found
    locator_at = end_at - END64_LOCATOR.size
    if locator_at >= END64.size and os.pread(fd, 4, locator_at) == b"PK\x06\x07":
        end_at = locator_at - END64.size  # the zip64 record, read where it lies, as zipfile does
        record = os.pread(fd, END64.size, end_at)
        if record[:4] != b"PK\x06\x06":
            raise ValueError("the zip64 end of central directory record is damaged")
        fields = END64.unpack(record)
        disk, count, directory_size, directory_at = fields[4], fields[7], fields[8], fields[9]
    if disk != 0:
        raise ValueError("a multi-disk (split) archive")
    return count, directory_size, directory_at, end_at


def _zip64_sizes(extra: bytes, unpacked: int, packed: int, offset: int) -> tuple[int, int, int]:
    """The real sizes and offset of a member whose directory entry saturated them (zip64 extra field 0x0001)."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, at)
        if tag == 0x0001:
            values = iter(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            try:
                unpacked = next(values) if unpacked == 0xFFFFFFFF else unpacked
                packed = next(values) if packed == 0xFFFFFFFF else packed
                offset = next(values) if offset == 0xFFFFFFFF else offset
            except StopIteration:
                raise ValueError("a zip64 extra field is too short") from None
        at += 4 + length
    return unpacked, packed, offset
