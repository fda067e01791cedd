"""Naming the CPU: its model name says little, its vector units say how fast it trains (AMX or AVX2 only)."""

from dcgan.core import device


def cpu(monkeypatch, fields: dict) -> str:
    monkeypatch.setattr(device, "cpu_field", fields.get)
    return device.cpu_description()


def test_the_cpu_is_named_with_the_units_that_decide_its_speed(monkeypatch):
    xeon = {"model name": "Intel(R) Xeon(R) Processor", "flags": "fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile"}
    assert cpu(monkeypatch, xeon) == "Intel(R) Xeon(R) Processor (AMX, AVX-512-BF16, AVX-512, AVX2)"
    laptop = {"model name": "AMD EPYC 7B13", "flags": "fpu sse2 avx avx2 fma"}
    assert cpu(monkeypatch, laptop) == "AMD EPYC 7B13 (AVX2)"
    assert cpu(monkeypatch, {"model name": "Neoverse", "Features": "fp asimd"}) == "Neoverse (NEON)"  # arm64 Linux


def test_without_cpuinfo_the_platform_names_the_cpu(monkeypatch):
    """macOS and Windows have no /proc/cpuinfo: the processor's name, else the machine's kind, and no units."""
    monkeypatch.setattr(device.platform, "processor", lambda: "Apple M2")
    assert cpu(monkeypatch, {}) == "Apple M2"
    monkeypatch.setattr(device.platform, "processor", lambda: "")  # what Linux and some others answer
    monkeypatch.setattr(device.platform, "machine", lambda: "arm64")
    assert cpu(monkeypatch, {}) == "arm64"
