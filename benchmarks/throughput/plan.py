"""What to measure and in which order: each table's rows, interleaved so that a noisy machine slows all alike."""

from __future__ import annotations

import statistics

from .worker import run_worker


def _ours(label: str, precision: str, channels_last: bool, compile_: bool = False) -> dict:
    """A row of our pipeline: ``dcgan train`` with these speed options."""
    return {"label": label, "kind": "ours", "precision": precision, "channels_last": channels_last, "compile": compile_}


def configurations(quick: bool, compile_: bool, repeats: int, fp16: bool = False, headline: bool = False) -> list[dict]:
    """Rows of the main table. The headline case (64px, small, batch 128) gets every variant and ``repeats``
    measurements; the others (left out with ``headline``) get baseline / fp32 / bf16 defaults, the paper preset
    one measurement each."""
    defaults = [("ours fp32 (default)", "fp32", True), ("ours bf16", "bf16", True)]
    defaults += [("ours fp16", "fp16", True)] if fp16 else []  # GradScaler fp16 exists on CUDA only
    variants = [("ours fp32 NCHW", "fp32", False), ("ours bf16 NCHW", "bf16", False)]
    if quick:
        cases = [(32, "small", defaults, repeats)]
    elif headline:
        cases = [(64, "small", defaults + variants, repeats)]
    else:
        cases = [
            (64, "small", defaults + variants, repeats),
            (32, "small", defaults, repeats),
            (64, "paper", defaults, 1),
            (32, "paper", defaults, 1),
        ]
    rows = []
    for res, preset, modes, reps in cases:
        common = {"resolution": res, "preset": preset, "repeats": reps}
        rows.append(common | {"label": "baseline (pytorch/examples)", "kind": "baseline"})
        rows += [common | _ours(*mode) for mode in modes]
        if compile_ and preset == "small":
            rows.append(common | _ours("ours fp32 compile", "fp32", True, compile_=True))
    return rows


def scaling_configurations(short: bool) -> list[dict]:
    """Rows of the scaling table (resolution and batch size); none in a short run (--quick, --headline)."""
    if short:
        return []
    base = {
        "kind": "ours",
        "preset": "small",
        "precision": "fp32",
        "channels_last": True,
        "compile": False,
        "repeats": 1,
    }
    rows = [base | {"label": f"{r}px b128", "resolution": r, "batch": 128} for r in (32, 64, 128)]
    rows += [base | {"label": f"64px b{b}", "resolution": 64, "batch": b} for b in (32, 64, 256)]
    return rows


def interleave(rows: list[dict], common: dict) -> list[dict]:
    """Measure each row its ``repeats`` times, round-robin over the rows, and keep the medians."""
    samples: list[list[dict]] = [[] for _ in rows]
    for rep in range(max(row["repeats"] for row in rows)):
        for i, row in enumerate(rows):
            if rep >= row["repeats"]:
                continue
            result = run_worker(common | row)
            samples[i].append(result)
            print(
                f"  [{rep + 1}/{row['repeats']}] {row['resolution']}px {row['preset']:5s} b{(common | row)['batch']} "
                f"{row['label']:36s} {result['images_per_s']:8.1f} img/s",
                flush=True,
            )
    out = []
    for row, runs in zip(rows, samples, strict=True):
        merged = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        out.append(row | merged | {"images_per_s_all": [r["images_per_s"] for r in runs]})
    return out


def conv_limits(training: list[dict], common: dict) -> list[dict]:
    """The convolutions-alone limit of every resolution and preset measured, fp32 and bf16, each with the
    fraction of it that our channels_last step of the same precision reaches."""
    out = []
    for res, preset in sorted({(r["resolution"], r["preset"]) for r in training}, reverse=True):
        for precision in ("fp32", "bf16"):
            limit = run_worker(common | {"kind": "convs", "resolution": res, "preset": preset, "precision": precision})
            ours = next(
                r
                for r in training
                if (r["resolution"], r["preset"], r.get("precision"), r.get("channels_last"))
                == (res, preset, precision, True)
            )
            limit |= {"resolution": res, "preset": preset, "precision": precision}
            out.append(limit | {"step_fraction": ours["images_per_s"] / limit["images_per_s"]})
    return out
