"""formats.ziparchive: the same members and bytes as Python's zipfile, in compact arrays; damage is an error."""

import zipfile

import numpy as np
import pytest

from dcgan.data.formats.ziparchive import ZipArchive


def _members(count: int = 12) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    return {
        f"set/c{i % 3}/é{i:03d}.png": rng.integers(0, 256, 100 + 37 * i, dtype=np.uint8).tobytes() for i in range(count)
    }


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])
def test_members_read_as_zipfile_reads_them(tmp_path, method):
    members = _members()
    with zipfile.ZipFile(tmp_path / "a.zip", "w", method) as zf:
        zf.mkdir("set/empty")
        for name in reversed(list(members)):  # written unsorted: listed sorted all the same
            zf.writestr(name, members[name])
    archive = ZipArchive(tmp_path / "a.zip")
    assert archive.names == sorted([*members, "set/empty/"])
    assert all(archive.read(name) == data for name, data in members.items())
    assert archive.sizes[archive.names.index("set/c1/é001.png")] == len(members["set/c1/é001.png"])
    with pytest.raises(KeyError, match=r"set/missing\.png"):
        archive.read("set/missing.png")


def test_a_zip64_archive_with_a_stub_before_it(tmp_path):
    """Over 65,535 members needs zip64's end records; bytes before the archive (a self-extracting stub) shift it."""
    with zipfile.ZipFile(tmp_path / "big.zip", "w") as zf:
        for i in range(70_000):
            zf.writestr(f"{i:05d}.txt", str(i))
    (tmp_path / "stub.zip").write_bytes(b"#!/bin/sh stub\n" * 10 + (tmp_path / "big.zip").read_bytes())
    for name in ("big.zip", "stub.zip"):
        archive = ZipArchive(tmp_path / name)
        assert len(archive.names) == 70_000
        assert archive.read("00007.txt") == b"7" and archive.read("69999.txt") == b"69999"


def test_damaged_members_and_directories_are_errors(tmp_path):
    members = _members(3)
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    raw = bytearray((tmp_path / "a.zip").read_bytes())
    first = raw.index(members["set/c0/é000.png"][:50])
    raw[first + 10] ^= 0xFF  # one byte of the first member's data
    (tmp_path / "flipped.zip").write_bytes(raw)
    archive = ZipArchive(tmp_path / "flipped.zip")
    with pytest.raises(OSError, match="CRC-32"):
        archive.read("set/c0/é000.png")
    assert archive.read("set/c1/é001.png") == members["set/c1/é001.png"]
    (tmp_path / "cut.zip").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="end of central directory"):
        ZipArchive(tmp_path / "cut.zip")
    directory = raw.index(b"PK\x01\x02")
    raw[directory + 1] = 0  # the first directory entry's signature
    (tmp_path / "directory.zip").write_bytes(raw)
    with pytest.raises(ValueError, match="entry 0 of the central directory is damaged"):
        ZipArchive(tmp_path / "directory.zip")
