"""Where tensors live: choosing the device, process-wide memory settings that depend on it, and peak memory."""

from __future__ import annotations

import ctypes
import platform
import resource
import sys

import torch

from ..errors import DCGANError


def pick_device(name: str = "auto") -> torch.device:
    """'auto' prefers CUDA, then Apple's MPS, then the CPU; an unavailable device is a clear error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DCGANError(f"unknown device {name!r}", "use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DCGANError("--device cuda was asked for but no CUDA GPU is available", "use --device cpu or auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DCGANError("--device mps was asked for but MPS is not available", "use --device cpu or auto")
    return device


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the kernel (process-wide).

    glibc serves every block of 32 MiB or more (a 64x64 batch's first activation is exactly
    32 MiB) with a fresh mmap and unmaps it on free, so a training loop that frees and
    reallocates the same activations every step page-faults them all in again each step
    (measured in docs/benchmarks.md). Serving them from a heap that is never trimmed keeps
    those pages. Nothing happens on other C libraries.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(None)
    m_trim_threshold, m_mmap_max = -1, -4  # from glibc's malloc.h
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 2**31 - 1)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (file-backed memmap pages included)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1 << 20) if sys.platform == "darwin" else kb / 1024
