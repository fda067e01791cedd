"""Resident memory flat in N: a scan over a memory-mapped array hands back the pages it has passed.

The pages of a memory map that a process has read stay in its resident set until it unmaps them,
so one pass over a prepared set of a million 64x64 images would grow the process by the set's
12 GB, although the kernel could drop them at any moment. :func:`release` asks the kernel to
page out the rows a scan has finished with (``MADV_PAGEOUT``, Linux 5.4 and later): they leave
the resident set, the file keeps them (rows written through a shared map are written back first:
dirty pages stay resident), and a later read maps them again. It never changes what an array holds, and it leaves arrays in
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
MS_SYNC = 4


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
    libc = _libc()
    kind = _map_kind(base) if libc else ""
    if not kind:
        return
    # every page the rows touch, a neighbour's too: paging out never loses data, a neighbour only reads it again
    start = address // mmap.PAGESIZE * mmap.PAGESIZE
    end = -(-(address + size) // mmap.PAGESIZE) * mmap.PAGESIZE
    if kind == "shared":  # rows written through the map: write them back first, or they stay resident until then
        libc.msync(start, end - start, MS_SYNC)
    libc.madvise(start, end - start, MADV_PAGEOUT)  # a refusal (an older kernel) leaves the pages where they are


def release_rows(array: torch.Tensor, rows: slice | torch.Tensor | np.ndarray | list[int]) -> None:
    """Page out the ``rows`` of a memory-mapped ``array`` that a scan has read: a slice, or indices, whose
    whole span goes (the kernel reads ahead around each row in blocks that a single row's pages would not
    cover, and leaves a block that a request covers only in part)."""
    if isinstance(rows, slice):
        release(array[rows])
        return
    rows = torch.as_tensor(rows)
    if len(rows):
        release(array[int(rows.min()) : int(rows.max()) + 1])


@functools.cache
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    for name in ("madvise", "msync"):
        getattr(libc, name).argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        getattr(libc, name).restype = ctypes.c_int
    return libc


@functools.lru_cache(maxsize=64)  # a pass over chunk copies asks once per copy: keep the recent ones, not all
def _map_kind(address: int) -> str:
    """How ``address`` is mapped (``/proc/self/maps``): "shared" or "private" for a file's map, else ""."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                low, high = (int(bound, 16) for bound in fields[0].split("-"))
                if low <= address < high:
                    if len(fields) == 6 and fields[5].startswith("/"):
                        return "shared" if fields[1][3] == "s" else "private"
                    return ""
    except OSError:
        pass
    return ""
