"""Where tensors live: choosing the device, process-wide memory settings that depend on it, peak memory, and
which CPU this is (its name says little: "Intel(R) Xeon(R) Processor" has AMX or not; speed depends on which)."""

from __future__ import annotations

import ctypes
import functools
import platform
import resource
import sys
from pathlib import Path

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


# Linux's flag -> the name of the arithmetic units that decide CPU training speed, widest first
VECTOR_UNITS = {"amx_bf16": "AMX", "avx512_bf16": "AVX-512-BF16", "avx512f": "AVX-512", "avx2": "AVX2", "asimd": "NEON"}


def cpu_field(field: str) -> str | None:
    """The first ``field`` line of Linux's /proc/cpuinfo ("flags", "model name"), or None where there is none."""
    return next((line.partition(":")[2].strip() for line in _cpuinfo() if line.split(":")[0].strip() == field), None)


@functools.cache
def _cpuinfo() -> tuple[str, ...]:
    """/proc/cpuinfo's lines, read once per process (it does not change; the description asks it three times)."""
    try:
        return tuple(Path("/proc/cpuinfo").read_text().splitlines())
    except OSError:
        return ()


def cpu_description() -> str:
    """The CPU's name and its vector units, e.g. "Intel(R) Xeon(R) Processor (AMX, AVX-512-BF16, AVX-512, AVX2)"."""
    name = cpu_field("model name") or platform.processor() or platform.machine()
    flags = set((cpu_field("flags") or cpu_field("Features") or "").split())
    units = [unit for flag, unit in VECTOR_UNITS.items() if flag in flags]
    return f"{name} ({', '.join(units)})" if units else name
