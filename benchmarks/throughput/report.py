"""The markdown tables of a run's report, and the machine it ran on (written into the report)."""

from __future__ import annotations

import os
import platform

import torch

from dcgan.core.device import cpu_description

TRAINING_HEADER = (
    "| res | preset | pipeline | img/s (median) | x baseline | GFLOP/img | GFLOP/s | % fp32 conv peak | % bf16 conv peak "
    "| peak RSS MB (+ loader worker) |"
)
CONV_LIMIT_HEADER = (
    "| res | preset | precision | convs alone img/s | GFLOP/img executed | GFLOP/s | % fp32 conv peak "
    "| whole step / convs alone |"
)


def machine() -> dict:
    return {
        "cpu": cpu_description(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def _table(header: str, rows: list[list[str]]) -> list[str]:
    """A markdown table's lines: the header, its rule, one line per row."""
    return [header, _line(["---"] * (header.count("|") - 1)), *(_line(row) for row in rows)]


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _gflops(row: dict) -> float:
    """The FLOP rate a row reached, in GFLOP/s."""
    return row["flops_per_image"] * row["images_per_s"] / 1e9


def _of_peak(gflops: float, peak: float) -> str:
    return f"{100 * gflops * 1e9 / peak:.0f}%"


def _training_row(row: dict, peaks: dict) -> list[str]:
    gflops = _gflops(row)
    memory = f"{row['peak_rss_mb']:.0f} (+{row['peak_rss_worker_mb']:.0f})"
    memory += f", GPU {row['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in row else ""
    return [
        *(f"{row[k]}" for k in ("resolution", "preset", "label")),
        f"{row['images_per_s']:.1f}",
        f"{row['ratio_to_baseline']:.2f}",
        f"{row['flops_per_image'] / 1e9:.2f}",
        f"{gflops:.0f}",
        _of_peak(gflops, peaks["conv_fp32"]),
        _of_peak(gflops, peaks["conv_bf16"]),
        memory,
    ]


def _conv_limit_row(row: dict, peaks: dict) -> list[str]:
    gflops = _gflops(row)
    return [
        *(f"{row[k]}" for k in ("resolution", "preset", "precision")),
        f"{row['images_per_s']:.1f}",
        f"{row['flops_per_image'] / 1e9:.2f}",
        f"{gflops:.0f}",
        _of_peak(gflops, peaks["conv_fp32"]),
        f"{100 * row['step_fraction']:.0f}%",
    ]


def _layer_row(layer: dict) -> list[str]:
    rates = (
        f"{layer['flops'] / layer['seconds'][k] / 1e9:.0f} (x{layer['counts'][k]})"
        for k in ("forward", "grad_input", "grad_weight")
    )
    return [layer["layer"], f"{layer['flops'] / 1e9:.2f}", *rates]


def _scaling_row(row: dict) -> list[str]:
    return [row["label"], f"{row['images_per_s']:.1f}", f"{row['flops_per_image'] / 1e9:.2f}", f"{_gflops(row):.0f}"]


def markdown(report: dict) -> str:
    peaks, host, device = report["peaks"], report["machine"], report["settings"]["device"]
    headline = report["conv_limits"][0]
    lines = [
        f"Machine: {host['cpu']}, {host['cores']} cores, torch {host['torch']}; both pipelines train on {device}"
        + (f" ({host['cuda']})." if device.startswith("cuda") else "."),
        "",
        "Peaks measured in this run (GFLOP/s): " + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in peaks.items()),
        "",
        *_table(TRAINING_HEADER, [_training_row(row, peaks) for row in report["training"]]),
        "",
        "Convolutions alone: every convolution of one step timed in isolation at its own shapes, channels_last,",
        "summed in the step's schedule (the step's limit on these kernels if nothing else cost anything).",
        "",
        *_table(CONV_LIMIT_HEADER, [_conv_limit_row(row, peaks) for row in report["conv_limits"]]),
        "",
        f"Per convolution, {headline['resolution']}px {headline['preset']} {headline['precision']} (GFLOP/s; "
        "calls per step in brackets):",
        "",
        *_table(
            "| layer | GFLOP per call | forward | grad input | grad weight |",
            [_layer_row(layer) for layer in headline["layers"]],
        ),
    ]
    if report["scaling"]:
        lines += [
            "",
            *_table(
                "| scaling (ours fp32, small) | img/s | GFLOP/img | GFLOP/s |",
                [_scaling_row(row) for row in report["scaling"]],
            ),
        ]
    lines += [
        "",
        f"Sampling (G small {report['sampling']['resolution']}px, eval mode, batch 256): "
        f"{report['sampling']['images_per_s']:.0f} img/s.",
        f"Start-up of `dcgan info` on a checkpoint (wall, median): {report['startup_s']:.2f} s.",
    ]
    return "\n".join(lines) + "\n"
