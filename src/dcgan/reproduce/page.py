"""A recipe's results page (``RESULTS/results.html``, self-contained) and the gathered markdown page.

The page sets every figure and table the recipe produced beside the paper's figure or table
number and the paper's number, says which targets were met or missed, and gives the compute
behind each result (steps, images seen, hours, the machine). ``RESULTS/results.json`` holds
the same in a form :func:`gather` reads, to write one markdown page (``docs/results.md``) over
several recipe folders, with small copies of their figures beside it.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from ..core.checkpoints import checkpoint_meta
from ..core.tensorfile import atomic_write, atomic_write_json
from ..errors import DCGANError
from ..experiments.tables import Table
from ..report.html import STYLE, environment, grid_image
from .data import DATA_ENV
from .data import data_root as resolve_root
from .plan import estimate_hours
from .recipes import RECIPES, Recipe
from .records import PageFigure, PageResult, StageEntry, Summary
from .runner import Stage, read_done, stage_compute
from .stage_context import Context, Levers
from .step_times import reference_machine

PAGE = "results.html"
SUMMARY = "results.json"
IMAGE_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg"}
MODEL = "generator.safetensors"  # a recipe's final G beside its figures (dcgan export --format safetensors)
MISSES_DOC = "reproduce.md#what-a-missed-target-needs"  # beside results.md in docs/: why a target is missed
ARCHIVED = "archived"  # results.json beside a section's figures: the section, gathered again without its folder


def command(ctx: Context) -> str:
    return f"dcgan reproduce {ctx.recipe} --scale {ctx.scale}{ctx.levers.flags()} --out {ctx.results}"


def summary(r: Recipe, ctx: Context, stages: list[Stage]) -> Summary:
    """The recipe folder in one record: each stage's marker (or its state), the machine, the expected time."""
    entries = []
    for stage in stages:
        folder = ctx.stage_folders[stage.name]
        done = read_done(folder)
        if done is None:  # the work so far
            entries.append(StageEntry(stage.name, stage.about, folder.name, False, stage_compute(folder)))
        else:
            entries.append(StageEntry(stage.name, stage.about, folder.name, True, done.compute, done.figures,
                                      done.tables, done.results, done.notes, done.finished))  # fmt: skip
    hours = round(estimate_hours(r, ctx.scale, ctx.levers.widths(), ctx.levers.pick_by_validation), 1)
    return Summary(r.name, r.title, ctx.scale, command(ctx), hours, all(e.done for e in entries), entries,
                   environment(), ctx.levers.to_dict())  # fmt: skip


def _expected(hours: float) -> str:
    return "a few minutes" if hours < 0.1 else f"about {hours:.1f} hours"


def _met(value: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[value]


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in table.rows)
    return f"<table><tr>{head}</tr>{body}</table>"


RESULT_COLUMNS = ["result", "paper", "paper's number", "ours", "target", ""]


def _results_table(results: list[PageResult]) -> Table:
    return Table(RESULT_COLUMNS, [[r.what, r.paper_ref, r.paper, r.ours, r.target, _met(r.met)] for r in results])


COMPUTE_COLUMNS = ["stage", "steps", "images seen", "hours", "precision", "device", "done"]


def _compute_table(stages: list[StageEntry]) -> Table:
    rows = []
    for s in stages:
        c = s.compute
        hours = c.get("seconds", 0) / 3600
        images = c.get("images seen")
        rows.append([s.stage, f"{c['steps']:,}" if "steps" in c else "", f"{images:,}" if images else "",
                     f"{hours:.2f}", c.get("precision", ""), c.get("device", ""), "yes" if s.done else "no"])  # fmt: skip
    return Table(COMPUTE_COLUMNS, rows)


def total_hours(stages: list[StageEntry]) -> float:
    return sum(s.compute.get("seconds", 0) for s in stages) / 3600


def hours_by_machine(stages: list[StageEntry], machine: dict[str, str]) -> str:
    """Where the hours ran, when any stage recorded it: "1 torch thread 10.21; 2 torch threads 3.02" on the
    page's own CPU, the whole machine where another CPU ran some ("not recorded": older sessions); "" when
    none did, as in pages written before sessions said where they ran."""
    if not any("machines" in s.compute for s in stages):
        return ""
    seconds: dict[str, float] = {}
    for s in stages:
        machines = s.compute.get("machines", {"": s.compute.get("seconds", 0)})
        for where, spent in machines.items():
            seconds[where] = seconds.get(where, 0) + spent
    own = f"{machine['CPU']}, "
    parts = [f"{where.removeprefix(own) or 'not recorded'} {spent / 3600:.2f}" for where, spent in seconds.items()]
    return "Hours by where they ran: " + "; ".join(parts) + "."


def _figure_html(folder: Path, figure: PageFigure) -> str:
    mime, data = grid_image(folder / figure.file, 0)
    caption = figure.caption + (f" (paper: {figure.paper})" if figure.paper else "")
    return (
        f'<figure><img src="data:{mime};base64,{base64.b64encode(data).decode()}" style="max-width:512px">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def build_page(r: Recipe, ctx: Context, stages: list[Stage]) -> tuple[str, Summary]:
    info = summary(r, ctx, stages)
    results = info.results()
    parts = [
        f"<h1>{escape(r.title)}</h1>",
        f"<p>Radford, Metz &amp; Chintala (ICLR 2016), reproduced by <code>{escape(info.command)}</code> "
        f"at scale <b>{ctx.scale}</b>: {'complete' if info.complete else 'not finished yet (run it again to continue)'}."
        f" Expected time at this scale: {_expected(info.expected_hours)} on {escape(reference_machine())}.</p>",
        "<h2>Results beside the paper</h2>",
        _html_table(_results_table(results)) if results else "<p>No result yet.</p>",
        "<h2>Stages and compute</h2>",
        _html_table(_compute_table(info.stages)),
        f"<p>{total_hours(info.stages):.2f} hours in all (under torchrun: summed over the processes). "
        f"{escape(hours_by_machine(info.stages, info.machine) or 'On the machine below.')}</p>",
    ]
    for stage, entry in zip(stages, info.stages, strict=True):
        parts.append(f"<h2>{escape(entry.folder)}: {escape(stage.about)}</h2>")
        if not entry.done:
            parts.append("<p>Not done yet.</p>")
            continue
        folder = ctx.stage_folders[stage.name]
        options = folder / "options.json"
        if options.is_file():
            parts.append(f"<p>Trained with <code>dcgan train --config {escape(str(options))}</code>.</p>")
        parts += [_figure_html(folder, f) for f in entry.figures]
        for table in entry.tables:
            parts += [f"<h3>{escape(table.heading())}</h3>", _html_table(table.table())]
        parts += [f"<p>Note: {escape(note)}.</p>" for note in entry.notes]
    machine = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in info.machine.items())
    parts.append(f"<h2>Machine</h2><table>{machine}</table>")
    html = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>dcgan results: {escape(r.name)}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    return html, info


def write_page(r: Recipe, ctx: Context, stages: list[Stage]) -> Path:
    """Rewrite ``results.html`` and ``results.json`` of the recipe's folder (atomically: never half a page)."""
    html, info = build_page(r, ctx, stages)
    atomic_write_json(ctx.results / SUMMARY, info.to_dict())
    atomic_write(ctx.results / PAGE, html.encode())
    return ctx.results / PAGE


def gather(folders: list[str | Path], out: str | Path, scale: str = "cpu", data_root: str | Path | None = None) -> Path:
    """One markdown page over recipe folders (their ``results.json``); recipes without a folder at ``scale``
    are listed as not yet run, with their command and expected time, or as not runnable here where their data
    is not under ``data_root`` (default: as ``dcgan reproduce`` finds it). Small copies of the figures go to
    ``<out without .md>/RECIPE/``, with the section's ``results.json`` beside them: that folder is itself a
    FOLDER to gather from, so a page can be gathered again once a run's folder is gone.

    A recipe run with levers (``--g-width 128``) gets a section of its own under its flags (after the recipe's
    own, when that is given too), its figures in ``RECIPE-g-width-128/``, and its targets in the table at a
    glance under its flags: the lever's measurement beside the recipe's."""
    root = resolve_root(data_root)
    out = Path(out)
    images = out.with_suffix("")
    found: dict[tuple[str, str, str], Section] = {}
    for folder in map(Path, folders):
        try:
            held = json.loads((folder / SUMMARY).read_text())
        except (OSError, ValueError) as e:
            raise DCGANError(f"{folder} holds no readable {SUMMARY} ({e})",
                             "give folders of dcgan reproduce, or the figure folders a page was gathered into") from None  # fmt: skip
        info = Summary.from_dict(held)
        flags = Levers.from_dict(info.levers).flags()
        found[info.recipe, info.scale, flags] = Section(folder, info, bool(held.get(ARCHIVED)), flags)
    lines = [
        "# The paper, reproduced",
        "",
        "Each section is one recipe of `dcgan reproduce` ([reproduce.md](reproduce.md): what each recipe does,"
        f" its scales and expected hours), gathered by `dcgan results FOLDER... -o {out}`. Paper numbers are from"
        " Radford, Metz & Chintala (ICLR 2016); `MISSED` marks a target the run did not reach. A section headed"
        " with flags (`--g-width 128`) is the recipe run with those levers, beside the recipe's own.",
        "",
    ]
    chosen: dict[str, list[Section]] = {}  # recipe -> its folders at ``scale``, else at the first other scale given
    for name in RECIPES:
        shown = scale if (name, scale) in {k[:2] for k in found} else next((k[1] for k in found if k[0] == name), None)
        if shown is not None:
            chosen[name] = [found[k] for k in sorted(found) if k[:2] == (name, shown)]  # without levers first
    lines += _glance(chosen)
    for name, r in RECIPES.items():
        if name not in chosen:
            lines += [f"## {name}: {r.title}", "", *_not_run(r, scale, root)]
            continue
        for section in chosen[name]:
            lines += [f"## {section.label}: {r.title}", ""]  # never the plain name's folder for a lever run:
            figures = images / re.sub(r"[^a-z0-9]+", "-", section.label).strip("-")  # it holds the recipe's own
            lines += _md_section(section.folder, section.info, figures, out.parent, section.archived)
    atomic_write(out, ("\n".join(lines) + "\n").encode())
    return out


@dataclass
class Section:
    """A recipe folder (or the figure folder it was gathered into) as one section of the gathered page."""

    folder: Path
    info: Summary
    archived: bool
    flags: str  # its levers on the command line (" --g-width 128"), "" for the recipe's own settings

    @property
    def label(self) -> str:
        """The recipe and its levers: the section's heading, its figures' folder and its glance rows."""
        return f"{self.info.recipe}{self.flags}"


def _glance(chosen: dict[str, list[Section]]) -> list[str]:
    """Every target of the gathered recipes in one table, each under its recipe and levers: met, missed, or not
    measured yet."""
    rows, missed = [], False
    for sections in chosen.values():
        for section in sections:
            label, info = section.label, section.info
            done = [r for r in info.results() if r.target]
            rows += [[label, r.what, r.paper, r.ours, r.target, _met(r.met)] for r in done]
            missed = missed or any(r.met is False for r in done)
            if not info.complete:
                rows.append([label, "(not finished yet: more results to come)", "", "", "", ""])
    if not rows:
        return []
    columns = ["recipe", "result", "paper's number", "ours", "target", ""]
    lines = ["## The targets at a glance", "", *Table(columns, rows).lines(), ""]
    if missed:
        lines += [f"What each miss needs, in compute or in a change: [reproduce.md]({MISSES_DOC}).", ""]
    return lines


def _not_run(r: Recipe, scale: str, root: Path) -> list[str]:
    """A recipe without a folder: why (no data here, or not run yet), its command and its expected time."""
    absent = [dataset for dataset in r.data.values() if dataset.find(root) is None]
    if absent:  # said against DATA_ROOT: the page is read on other machines than the one that wrote it
        missing = absent[0].missing(Path("DATA_ROOT"))
        why = (f"**Not run here: its data is not on this machine** ({missing.problem}; {missing.fix};"
               f" DATA_ROOT is --data-root, else ${DATA_ENV}, else ../shared/data).")  # fmt: skip
    else:
        why = f"**Not yet run at --scale {scale}.**"
    hours = estimate_hours(r, scale)
    return [f"{why} Expected about {hours:.1f} hours on {reference_machine()}"
            " (about a third of that in bf16 on a CPU with AMX):", "", f"    dcgan reproduce {r.name} --scale {scale}", ""]  # fmt: skip


def _shown_command(info: Summary) -> str:
    """The command as a reader would run it: without ``--out`` where the folder has its default name."""
    command, _, out = info.command.partition(" --out ")
    return command if Path(out).name == f"{info.recipe}-{info.scale}" else info.command


def _md_section(folder: Path, info: Summary, images: Path, base: Path, archived: bool) -> list[str]:
    """A recipe's section, its figures copied small into ``images`` with the summary beside them (or, from such
    an archive, read from it)."""
    state = "complete" if info.complete else "**not finished**"
    lines = [f"Scale `{info.scale}`, {state}: `{_shown_command(info)}`", ""]
    results = info.results()
    if results:
        lines += [*_results_table(results).lines(), ""]
    for s in info.stages:
        if not s.done:
            continue
        for table in s.tables:
            lines += [f"**{table.heading()}**", "", *table.table().lines(), ""]
        for figure in s.figures:
            stem = f"{s.folder}-{Path(figure.file).stem}"
            if archived:  # the small copy is the source: copied as it is, never encoded again
                (source,) = [f for f in folder.glob(f"{stem}.*") if f.suffix in IMAGE_SUFFIX.values()]
                target, data = images / source.name, source.read_bytes()
            else:
                mime, data = grid_image(folder / s.folder / figure.file, 0)
                target = images / (stem + IMAGE_SUFFIX[mime])
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != data:
                atomic_write(target, data)
            paper = f" (paper: {figure.paper})" if figure.paper else ""
            lines += [f"![{figure.caption}]({target.relative_to(base)})", "", f"*{figure.caption}{paper}*", ""]
        for note in s.notes:  # a paragraph of its own, not run into the compute line
            lines += [f"Note: {note}.", ""]
    lines += _model_lines(images / MODEL, base, RECIPES[info.recipe])
    hours = total_hours(info.stages)
    lines += [f"Compute, {hours:.2f} hours in all:", "", *_compute_table(info.stages).lines(), ""]
    lines += [_machine_line(info.machine, hours_by_machine(info.stages, info.machine)), ""]
    images.mkdir(parents=True, exist_ok=True)
    atomic_write_json(images / SUMMARY, {**info.to_dict(), ARCHIVED: True})
    return lines


def _machine_line(machine: dict[str, str], where: str) -> str:
    """The machine that wrote the page; its torch threads only where the sessions did not say their own."""
    if where:
        return f"Machine: {machine['CPU']}, GPU {machine['GPU']}, torch {machine['torch']}. {where}"
    threads = machine["torch threads"]
    return (f"Machine: {machine['CPU']}, {threads} torch thread{'' if threads == '1' else 's'}, GPU {machine['GPU']},"
            f" torch {machine['torch']}.")  # fmt: skip


def _model_lines(path: Path, base: Path, r: Recipe) -> list[str]:
    """The recipe's shipped G, where one lies beside its figures: what it is (from its own header), how to
    sample it, and the terms of the images it learned from, which bind the model too."""
    if not path.is_file():
        return []
    meta, where = checkpoint_meta(path), path.relative_to(base)
    which = "averaged" if meta.get("generator") == "ema" else "raw"
    seen = f", {meta['step']:,} steps, {meta['images_seen']:,} images seen" if meta.get("step") is not None else ""
    learned_from = next(iter(r.data.values()))  # a recipe's first data set is the one it trains on
    terms = f"{learned_from.name}: {learned_from.terms}"
    return [f"**The model**: [{where.name}]({where}) ({path.stat().st_size / 1e6:.1f} MB): the run's final G ({which},"
            f" {meta['dtype']}{seen}), for every command that takes --checkpoint:"
            f" `dcgan sample --checkpoint {path} -n 64 -o samples.png`. Data terms, which bind the model"
            f" too: {terms}.", ""]  # fmt: skip
