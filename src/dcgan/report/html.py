"""``RUN/report.html``: one self-contained page that shows a run (opens from disk, no server, no network).

Everything is inside the file: the CSS, a few lines of script for the epoch slider, the
curves as inline SVG and every epoch's fixed-noise grid as a base64 PNG. It is rebuilt from
the run folder alone (config, metrics, sample grids), so the page written during training
and ``dcgan report RUN`` agree. Metric rows with a ``kind`` (quality metrics written by
evaluation, for example) get a chart per numeric key, whatever the keys are.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import platform
from collections import defaultdict
from datetime import datetime
from html import escape
from pathlib import Path

import torch
from PIL import Image

from ..core.checkpoints import checkpoint_meta
from ..core.device import cpu_description
from ..core.rundir import RAW, RunDir
from ..core.tensorfile import atomic_write
from ..data.summary import format_summary
from ..errors import DCGANError
from .charts import line_chart

PAPER_EPOCHS = {1: "figure 2 (1 epoch)", 5: "figure 3 (5 epochs)"}  # the epochs whose samples the paper shows
MAX_GRID_WIDTH = 512  # pixels; larger grids are downscaled
LONG_RUN = 24  # epochs; beyond this, grids are halved again and compressed harder
ROW_KEYS = ("step", "epoch", "kind")  # bookkeeping keys of a metric row, never plotted


def numeric_items(row: dict) -> list[tuple[str, float]]:
    """The values of a metric row worth a chart: numbers (not flags) other than the bookkeeping keys."""
    return [
        (k, v) for k, v in row.items() if k not in ROW_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
    ]


TRAINING_PANELS = (("losses", ("loss_d", "loss_g"), None), ("D(x) and D(G(z))", ("d_x", "d_g_z"), (0.0, 1.0)))

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1120px;color:#222}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart .frame{fill:none;stroke:#bbb}
.chart .title{font-weight:600;font-size:13px}.chart .tick{font-size:10px;fill:#555}.chart .legend{font-size:11px}
.grid img{image-rendering:pixelated;width:512px;max-width:100%;border:1px solid #ccc}
.marks button{margin-right:6px}#epoch-label{font-weight:600;margin-left:8px}
"""

SLIDER_SCRIPT = """
const grids = document.querySelectorAll('.grid img');
const slider = document.getElementById('epoch-slider');
function show(i) {
  grids.forEach((img, k) => { img.hidden = k !== i; });
  slider.value = i;
  document.getElementById('epoch-label').textContent = grids[i].dataset.caption;
}
slider.addEventListener('input', () => show(Number(slider.value)));
document.querySelectorAll('.marks button').forEach(b => b.addEventListener('click', () => show(Number(b.dataset.index))));
show(grids.length - 1);
"""


def metric_panels(rows: list[dict]) -> list[tuple[str, dict[str, tuple[list, list]], tuple | None]]:
    """(title, {name: (steps, values)}, y range) per chart: the training statistics, then one per extra key."""
    series: dict[tuple[str, str], tuple[list, list]] = defaultdict(lambda: ([], []))
    for row in rows:
        if "step" not in row:
            continue
        kind = row.get("kind", "training")
        for key, value in numeric_items(row):
            xs, ys = series[kind, key]
            xs.append(row["step"])
            ys.append(float(value))
    panels = []
    for title, keys, y_range in TRAINING_PANELS:
        lines = {key: series.pop(("training", key)) for key in keys if ("training", key) in series}
        if lines:
            panels.append((title, lines, y_range))
    grouped: dict[tuple[str, str], dict] = defaultdict(dict)  # "fid_raw" beside "fid": the raw and averaged G
    for (kind, key), xy in series.items():
        grouped[kind, key.removesuffix(RAW)][key] = xy
    panels += [(key if kind == "training" else f"{kind}: {key}", lines, None) for (kind, key), lines in grouped.items()]
    return panels


def grid_image(path: str | Path, epochs_shown: int) -> tuple[str, bytes]:
    """An epoch grid made small: (MIME type, bytes), at most MAX_GRID_WIDTH wide (half that for long runs).

    Encoded as a palette PNG or a JPEG, whichever is smaller: flat digits compress best as a
    palette, photographs such as faces as a JPEG.
    """
    path = Path(path)
    return _encoded(str(path), path.stat().st_mtime_ns, epochs_shown > LONG_RUN)


@functools.lru_cache(maxsize=512)
def _encoded(path: str, mtime_ns: int, long_run: bool) -> tuple[str, bytes]:
    """grid_image's work, remembered: training rewrites the report every epoch, with all earlier grids unchanged."""
    with Image.open(path) as img:
        img = img.convert("RGB")
    width = MAX_GRID_WIDTH // 2 if long_run else MAX_GRID_WIDTH
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
    png, jpeg = io.BytesIO(), io.BytesIO()
    img.quantize(64 if long_run else 256, method=Image.Quantize.MEDIANCUT).save(png, "PNG", optimize=True)
    img.save(jpeg, "JPEG", quality=75 if long_run else 85)
    return min(("image/png", png.getvalue()), ("image/jpeg", jpeg.getvalue()), key=lambda item: len(item[1]))


def throughput(run: RunDir, rows: list[dict], batch_size: int) -> list[tuple[int, float, float]]:
    """(epoch, seconds, images/s) per epoch, timed by when its sample grid was written.

    Each epoch runs from the previous epoch's grid, or from when the process that trained it started:
    config.json's time (written whenever training starts) counts for the epoch it falls inside, so an
    epoch after a resume is timed from the resume and the epochs before it keep their times. The first
    epoch of a run resumed later has no recorded start and is left out. Approximate: it includes the
    epoch's sampling and checkpoint.
    """
    steps = defaultdict(int)
    for row in rows:
        if "kind" not in row:
            steps[row["epoch"]] = max(steps[row["epoch"]], row["step"])
    saved = run.saved_epoch_samples()
    times = {epoch: path.stat().st_mtime for epoch, path in saved.items()}
    started = run.config.stat().st_mtime if run.config.is_file() else None
    out = []
    for epoch, end in times.items():
        begin = times.get(epoch - 1)
        if started is not None and (begin is None or started > begin) and started < end:
            begin = started
        images = (steps.get(epoch, 0) - steps.get(epoch - 1, 0)) * batch_size
        if begin is not None and end > begin and images > 0:
            out.append((epoch, end - begin, images / (end - begin)))
    return out


def trained_on(run: RunDir, config: dict) -> str:
    """What the run trains on, as the data summary's first line names it (config.json says None for the
    bundled MNIST sample): from the last checkpoint's metadata, read without its tensors."""
    if run.last_checkpoint.is_file():
        try:
            meta = checkpoint_meta(run.last_checkpoint)
        except DCGANError:  # a damaged checkpoint has its own message where it is loaded; the report goes on
            meta = {}
        if "data" in meta:
            return format_summary(meta["data"]).splitlines()[0].removeprefix("data: ")
    return config.get("data") or "the bundled MNIST sample"


def environment() -> dict[str, str]:
    """Versions and hardware of the machine writing the report."""
    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "system": platform.platform(),
        "CPU": f"{cpu_description()}, {os.cpu_count()} logical cores",
        "GPU": ", ".join(gpus) or "none",
        "torch threads": str(torch.get_num_threads()),
    }


def _table(values: dict) -> str:
    cells = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in values.items())
    return f"<table>{cells}</table>"


def _grids_section(run: RunDir) -> str:
    saved = run.saved_epoch_samples()
    if not saved:
        return "<p>No epoch has finished yet.</p>"
    imgs, marks = [], []
    for i, (epoch, path) in enumerate(saved.items()):
        caption = f"epoch {epoch}" + (f", as in the paper's {PAPER_EPOCHS[epoch]}" if epoch in PAPER_EPOCHS else "")
        mime, data = grid_image(path, len(saved))
        src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        imgs.append(f'<img data-epoch="{epoch}" data-caption="{escape(caption)}" src="{src}">')
        if epoch in PAPER_EPOCHS:
            marks.append(f'<button data-index="{i}">epoch {epoch} &#9733;</button>')
    return (
        f'<input type="range" id="epoch-slider" min="0" max="{len(saved) - 1}" value="{len(saved) - 1}">'
        f'<span id="epoch-label"></span><div class="marks">{"".join(marks)}</div>'
        f'<div class="grid">{"".join(imgs)}</div><script>{SLIDER_SCRIPT}</script>'
    )


def build_report(run_dir: str | Path) -> str:
    """The report of the run in ``run_dir``, as one HTML document."""
    run = RunDir(run_dir)
    if not run.config.is_file():
        raise DCGANError(f"{run.root} is not a run folder (no config.json)", "pass a folder written by dcgan train")
    config = json.loads(run.config.read_text())
    rows = run.read_metrics(None)  # training steps and quality evaluations
    charts = "".join(line_chart(title, lines, y_range) for title, lines, y_range in metric_panels(rows))
    speed = throughput(run, rows, config["batch_size"])
    speed_rows = "".join(f"<tr><td>{e}</td><td>{s:.1f}</td><td>{r:.0f}</td></tr>" for e, s, r in speed)
    last = rows[-1] if rows else {}
    progress = {"epochs done": len(run.saved_epoch_samples()), "of": config["epochs"], "last step": last.get("step")}
    written = datetime.now().isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>dcgan run {escape(run.root.name)}</title>
<style>{STYLE}</style></head><body>
<h1>dcgan run <code>{escape(str(run.root))}</code></h1><p>Written {written}.</p>
<h2 id="progress">Progress</h2>{_table(progress)}
<h2 id="samples">Fixed-noise samples by epoch</h2>{_grids_section(run)}
<h2 id="curves">Curves</h2><div class="charts">{charts or "<p>Nothing logged yet.</p>"}</div>
<h2 id="throughput">Throughput</h2>
<table><tr><th>epoch</th><th>seconds</th><th>images/s</th></tr>{speed_rows}</table>
<p>Timed by when each epoch's sample grid was written (includes sampling and checkpoints); the first epoch of a
run resumed later is not timed.</p>
<h2 id="environment">Hardware and versions</h2>{_table(environment())}
<p>Of the machine that wrote this report.</p>
<h2 id="config">Configuration</h2>{_table(config | {"data": trained_on(run, config)})}
</body></html>
"""


def write_report(run_dir: str | Path) -> Path:
    """Rewrite ``RUN/report.html`` atomically (a browser reloading it never sees half a page)."""
    run = RunDir(run_dir)
    atomic_write(run.report, build_report(run.root).encode())
    return run.report
