"""core.pages.release: a scan's memory-mapped rows leave the resident set, and nothing they hold changes."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan.core.pages import release

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_PAGEOUT is Linux's")
MB = 2**20


def resident_mb(path) -> float:
    """This process's resident pages of its maps of the file ``path`` (``/proc/self/smaps``)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[0] in "0123456789abcdef" and "-" in line.split()[0]:  # a map's header line
            inside = line.rstrip().endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total / 1024


def test_rows_read_through_a_map_leave_the_resident_set_unchanged(tmp_path):
    np.save(tmp_path / "rows.npy", np.arange(64 * MB, dtype=np.uint64).astype(np.uint8).reshape(1024, -1))
    with open(tmp_path / "rows.npy", "rb+") as fh:  # written back, as a prepared set is by the time it is read
        os.fsync(fh.fileno())
    rows = torch.from_numpy(np.load(tmp_path / "rows.npy", mmap_mode="c"))
    total = sum(int(rows[i : i + 128].sum()) for i in range(0, 1024, 128))
    assert resident_mb(tmp_path / "rows.npy") > 60  # reading mapped the 64 MB in
    for i in range(0, 1024, 128):
        release(rows[i : i + 128])
    assert resident_mb(tmp_path / "rows.npy") < 1
    assert int(rows.sum()) == total  # read again from the file: the same values


def test_rows_written_through_a_map_reach_the_file(tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=(256, 16384))
    out[:] = np.arange(256, dtype=np.float32)[:, None]
    release(out[:128])
    assert 7 < resident_mb(tmp_path / "out.npy") < 9  # the 8 MB of rows not released remain
    assert np.array_equal(np.load(tmp_path / "out.npy")[:, 0], np.arange(256, dtype=np.float32))


def test_arrays_in_ordinary_memory_and_odd_views_are_left_alone():
    plain = torch.arange(1 << 20, dtype=torch.float32)
    release(plain)
    release(plain.reshape(1024, 1024).T)  # not contiguous
    release(plain[:0])
    release(np.arange(10.0)[::2])
    assert torch.equal(plain, torch.arange(1 << 20, dtype=torch.float32))
