"""Resident memory flat in N: a scan over a memory-mapped array hands back the pages it has passed.

The pages of a memory map that a process has read stay in its resident set until it unmaps them,
so one pass over a prepared set of a million 64x64 images would grow the process by the set's
12 GB, although the kernel could drop them at any moment. :func:`release` asks the kernel to
page out the rows a scan has finished with (``MADV_PAGEOUT``, Linux 5.4 and later): they leave
the resident set, the file keeps them (rows written through a map are written back first), and
a later read maps them again. It never changes what an array holds, and it leaves arrays in
ordinary memory alone. Elsewhere (other systems, older kernels) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import sys

import numpy as np
import torch

MADV_PAGEOUT = 21  # linux/mman.h
_file_backed: dict[int, bool] = {}  # start of an array's memory -> whether a file's map holds it


def release(rows: torch.Tensor | np.ndarray) -> None:
    """Page out ``rows``, a contiguous part of a memory-mapped array that a scan has finished with."""
    if isinstance(rows, torch.Tensor):
        if rows.device.type != "cpu" or not rows.is_contiguous() or rows.numel() == 0:
            return
        base, address, size = rows.untyped_storage().data_ptr(), rows.data_ptr(), rows.numel() * rows.element_size()
    else:
        if not rows.flags.c_contiguous or rows.size == 0:
            return
        root = rows
        while isinstance(root.base, np.ndarray):
            root = root.base
        base, address, size = root.ctypes.data, rows.ctypes.data, rows.nbytes
    madvise = _madvise()
    if madvise is None or not _mapped_from_file(base):
        return
    start = -(-address // mmap.PAGESIZE) * mmap.PAGESIZE  # whole pages inside the rows: a neighbour's stay
    end = (address + size) // mmap.PAGESIZE * mmap.PAGESIZE
    if end > start:
        madvise(start, end - start, MADV_PAGEOUT)  # a refusal (an older kernel) leaves the pages where they are


@functools.cache
def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return fn


def _mapped_from_file(address: int) -> bool:
    """Whether ``address`` lies in a map of a file (``/proc/self/maps``), asked once per array."""
    if address not in _file_backed:
        _file_backed[address] = False
        try:
            with open("/proc/self/maps") as maps:
                for line in maps:
                    fields = line.split(maxsplit=5)
                    low, high = (int(bound, 16) for bound in fields[0].split("-"))
                    if low <= address < high:
                        _file_backed[address] = len(fields) == 6 and fields[5].startswith("/")
                        break
        except OSError:
            pass
    return _file_backed[address]
