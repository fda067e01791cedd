"""Seconds of one training step of every model the recipes train, per CPU kind: the table behind their stated hours.

    python -m benchmarks.recipe_hours           # every model; this CPU's kernels and AVX2's; 1 and 2 threads
    python -m benchmarks.recipe_hours --quick   # one tiny model, 2 steps, 1 thread: does it run? (writes under /tmp)

The models are those of every recipe's config files at every scale (src/dcgan/reproduce/configs), and at
``--scale cpu`` also at the widths of the recipe's levers (``Recipe.lever_widths``): resolution, channels,
widths, z, conditional and --augment. Each is timed as ``training/step.py``'s ``train_step`` at batch 128 on
random images (channels_last, the config's augmentation, labels of 10 classes for a conditional model):
one warm-up step, then the median wall seconds of ``--steps``. --ema's average of G is left out (it is not in
the step: a few milliseconds). Precisions: fp32, and bf16 where the process finds bf16 units
(``training.autoprecision.native_bf16``, what ``--precision auto`` asks). Each kernel set and thread count runs in
a fresh process: ``avx2`` caps ATen's and oneDNN's kernels at AVX2 (``ATEN_CPU_CAPABILITY``,
``ONEDNN_MAX_CPU_ISA``), the code an AVX2-only CPU runs, on this CPU's cores; oneDNN then reports no bf16, so
only fp32 is timed there, as on such a CPU.

Writes OUT.json and OUT.md (every step's seconds; default benchmarks/results/recipe_hours) and the medians into
the package's step-time table (default src/dcgan/reproduce/step_times.json): this CPU's kinds in place of
theirs, and the AVX2 kernels at 2 threads in fp32 as the reference the recipes' hours are stated for. The
figures are wall seconds: run it on idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from dcgan import TrainConfig
from dcgan.core.device import cpu_description
from dcgan.core.models import Discriminator, Generator
from dcgan.reproduce import RECIPES, SCALES
from dcgan.reproduce.plan import training_stages
from dcgan.reproduce.step_times import BATCH, TABLE, Model, merge_kinds, read_table, write_table
from dcgan.training import distributed
from dcgan.training.augment import make_augment
from dcgan.training.autoprecision import native_bf16
from dcgan.training.step import Precision, make_optimizers, train_step

from .common import ISA_CAPS, ROOT, write_report

CLASSES = 10  # the one conditional recipe trains on MNIST's ten digits
CAPPED = ", kernels capped at AVX2"


def recipe_models() -> list[Model]:
    """Every model a recipe's config file trains, at any scale, and at ``--scale cpu`` also with each of the
    recipe's ``lever_widths``; once each, smallest first."""
    configs = [(r, s, {}) for r in RECIPES.values() for s in SCALES]
    levers = [(r, "cpu", widths) for r in RECIPES.values() for widths in r.lever_widths]
    models = {
        Model.of(options) for r, s, widths in configs + levers for options in training_stages(r, s, widths).values()
    }
    return sorted(
        models, key=lambda m: (m.resolution, m.g_width, m.d_width, m.nz, m.channels, m.conditional, m.augment)
    )


def time_steps(model: Model, precision_name: str, steps: int, batch: int = BATCH) -> dict:
    """Wall and process CPU seconds of ``steps`` training steps of ``model`` after one warm-up step."""
    torch.manual_seed(0)
    widths = {"g_width": model.g_width, "d_width": model.d_width, "nz": model.nz}
    config = TrainConfig(**widths, augment=model.augment, batch_size=batch).fitted_to(model.resolution, model.channels)
    spec, cpu, layout = config.model_spec(CLASSES if model.conditional else 0), torch.device("cpu"), torch.channels_last
    G, D = Generator(spec).to(memory_format=layout), Discriminator(spec).to(memory_format=layout)
    opt_g, opt_d = make_optimizers(G, D, config, cpu)
    augment = make_augment(config, cpu, distributed.SINGLE, batch)
    real = (torch.rand(batch, model.channels, model.resolution, model.resolution) * 2 - 1).contiguous(
        memory_format=layout
    )
    z, labels = torch.randn(batch, spec.nz), torch.randint(0, CLASSES, (batch,)) if model.conditional else None
    precision = Precision(precision_name, cpu)
    wall, cpu_s = [], []
    for _ in range(steps + 1):  # the first is the warm-up
        start = time.perf_counter(), time.process_time()
        train_step(G, D, opt_g, opt_d, real, z, precision, labels=labels, augment=augment)
        wall.append(time.perf_counter() - start[0])
        cpu_s.append(time.process_time() - start[1])
    return {"wall_s": wall[1:], "cpu_s": cpu_s[1:], "warm_up_s": wall[0]}


def run_worker(spec: dict) -> list[dict]:
    """One process: every model in each precision this CPU computes natively, at the threads its parent set."""
    precisions = ["fp32", "bf16"] if native_bf16()[0] else ["fp32"]
    rows = []
    for values in spec["models"]:
        for precision in precisions:
            timed = time_steps(Model(**values), precision, spec["steps"])
            rows.append({**values, "precision": precision, "threads": torch.get_num_threads(), **timed})
            print(f"{Model(**values).label()} {precision}: {statistics.median(timed['wall_s']):.3f} s", file=sys.stderr)
    return rows


def measure(models: list[Model], isa: str, threads: int, steps: int) -> list[dict]:
    """The rows of one fresh process with ``isa``'s kernels and ``threads`` threads."""
    spec = {"models": [m.to_dict() for m in models], "steps": steps}
    env = dict(os.environ, **ISA_CAPS[isa], OMP_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "benchmarks.recipe_hours", "--worker", json.dumps(spec)]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    kind = cpu_description() + ("" if isa == "native" else CAPPED)
    return [{"kind": kind, "isa": isa, **row} for row in json.loads(done.stdout.splitlines()[-1])]


def table_entries(rows: list[dict], command: str) -> dict[str, dict]:
    """The step-time table's entry of each kind measured: the median of every model, precision and threads."""
    entries: dict[str, dict] = {}
    for row in rows:
        entry = entries.setdefault(
            row["kind"],
            {"measured_by": command, "measured_on": time.strftime("%Y-%m-%d"), "torch": torch.__version__, "rows": []},
        )
        model = Model.from_row(row).to_dict()
        seconds = round(statistics.median(row["wall_s"]), 4)
        entry["rows"].append({**model, "precision": row["precision"], "threads": row["threads"], "seconds": seconds})
    return entries


def reference_of(rows: list[dict]) -> dict:
    """AVX2 kernels at the most threads measured, fp32 (where only this CPU's own kernels ran: those)."""
    chosen = max(rows, key=lambda row: (row["isa"] == "avx2", row["threads"]))
    return {"kind": chosen["kind"], "threads": chosen["threads"], "precision": "fp32"}


def markdown(rows: list[dict], report: dict) -> str:
    columns = list(dict.fromkeys((r["isa"], r["threads"], r["precision"]) for r in rows))
    header = [f"{'AVX2 kernels' if isa == 'avx2' else 'own kernels'}, {t} thread{'s' * (t > 1)}, {p}"
              for isa, t, p in columns]  # fmt: skip
    s = report["settings"]
    lines = [
        f"Seconds of one training step (median of {s['steps']} after a warm-up, wall), batch {BATCH}, random images;"
        f" {report['machine']}, torch {report['torch']}",
        "",
        "| model | " + " | ".join(header) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for model in dict.fromkeys(Model.from_row(r) for r in rows):
        cells = []
        for isa, threads, precision in columns:
            found = [r for r in rows if (r["isa"], r["threads"], r["precision"]) == (isa, threads, precision)]
            found = [r for r in found if Model.from_row(r) == model]
            cells.append(f"{statistics.median(found[0]['wall_s']):.3f}" if found else "-")
        lines.append(f"| {model.label()} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recipe_hours", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model after a warm-up (default 3)")
    parser.add_argument("--threads", default="1,2", help="thread counts, one process each (default 1,2)")
    parser.add_argument("--isa", default="native,avx2", help="kernel sets: native, avx2 (default both)")
    parser.add_argument("--quick", action="store_true", help="the smallest model, 2 steps, 1 thread, into /tmp")
    parser.add_argument("--out", help="output stem [default: benchmarks/results/recipe_hours]")
    parser.add_argument("--table", help=f"the step-time table to update [default: {TABLE.relative_to(ROOT)}]")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return 0
    models = recipe_models()
    if args.quick:
        models, args.steps, args.threads = models[:1], 2, "1"
        scratch = Path(tempfile.mkdtemp(prefix="recipe_hours-"))
        args.out, args.table = args.out or scratch / "recipe_hours", args.table or scratch / "step_times.json"
    out = Path(args.out or ROOT / "benchmarks" / "results" / "recipe_hours")
    table_path = Path(args.table or TABLE)
    rows = []
    for isa in args.isa.split(","):
        for threads in map(int, args.threads.split(",")):
            print(f"{isa} kernels, {threads} thread(s): {len(models)} models", flush=True)
            rows += measure(models, isa, threads, args.steps)
    command = " ".join(["python -m benchmarks.recipe_hours", *(argv if argv is not None else sys.argv[1:])]).strip()
    report = {
        "machine": f"{cpu_description()}, {os.cpu_count()} logical cores",
        "torch": torch.__version__,
        "settings": {"steps": args.steps, "batch": BATCH, "threads": args.threads, "isa": args.isa},
        "rows": rows,
    }
    write_report(out, report, markdown(rows, report))
    earlier = read_table(table_path if table_path.is_file() else TABLE)
    write_table(merge_kinds(earlier, table_entries(rows, command), reference_of(rows)), table_path)
    print(f"step-time table: {table_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
