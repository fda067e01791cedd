"""The records of a results folder: what a stage gives the page (its figures, tables and results beside the
paper's), a complete stage's marker (``done.json``) and the folder's summary (``results.json``).

This module owns those two JSON formats: each record reads and writes itself as the object they have
always held (same keys, same order), so folders written before these records existed read the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..experiments.tables import Table


@dataclass
class PageFigure:
    file: str  # relative to the stage's folder
    caption: str
    paper: str = ""  # the paper's figure it stands beside

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PageFigure:
        return cls(d["file"], d["caption"], d["paper"])


@dataclass
class PageTable:
    title: str
    paper: str  # the paper's table it stands beside, or ""
    columns: list[str]
    rows: list[list]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PageTable:
        return cls(d["title"], d["paper"], d["columns"], d["rows"])

    def table(self) -> Table:
        return Table(self.columns, self.rows)

    def heading(self) -> str:
        return self.title + (f" (paper: {self.paper})" if self.paper else "")


@dataclass
class PageResult:
    """One number of ours beside the paper's, and whether it met its target (None: no target)."""

    what: str
    paper_ref: str
    paper: str
    ours: str
    target: str = ""
    met: bool | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PageResult:
        return cls(d["what"], d["paper_ref"], d["paper"], d["ours"], d["target"], d["met"])


@dataclass
class Outcome:
    """What a stage produced, for the page: figures, tables, results beside the paper's, and its compute."""

    figures: list[PageFigure] = field(default_factory=list)
    tables: list[PageTable] = field(default_factory=list)
    results: list[PageResult] = field(default_factory=list)
    compute: dict = field(default_factory=dict)  # steps, images seen, ... (seconds are added by the runner)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # other outputs: tables as JSON, checkpoints, z files

    def figure(self, file: str | Path, caption: str, paper: str = "") -> None:
        self.figures.append(PageFigure(str(file), caption, paper))

    def table(self, title: str, paper: str, table: Table) -> None:
        self.tables.append(PageTable(title, paper, table.columns, table.rows))

    def result(
        self, what: str, paper_ref: str, paper: str, ours: str, target: str = "", met: bool | None = None
    ) -> None:
        self.results.append(PageResult(what, paper_ref, paper, ours, target, met))

    def outputs(self) -> list[str]:
        return [f.file for f in self.figures] + self.files


def _shown_to_dict(record: Marker | StageEntry) -> dict:
    """What a stage shows on the page, as its marker and the summary hold it."""
    return {
        "figures": [f.to_dict() for f in record.figures],
        "tables": [t.to_dict() for t in record.tables],
        "results": [r.to_dict() for r in record.results],
    }


def _shown_from_dict(d: dict) -> dict:
    return {
        "figures": [PageFigure.from_dict(f) for f in d.get("figures", [])],
        "tables": [PageTable.from_dict(t) for t in d.get("tables", [])],
        "results": [PageResult.from_dict(r) for r in d.get("results", [])],
    }


@dataclass
class Marker:
    """``done.json``: what a complete stage made (its outputs, the page's records of it) and what it cost."""

    stage: str
    about: str
    finished: str  # when, UTC, ISO 8601
    outputs: list[str]  # every file the stage wrote that the page or a later stage reads
    figures: list[PageFigure] = field(default_factory=list)
    tables: list[PageTable] = field(default_factory=list)
    results: list[PageResult] = field(default_factory=list)
    compute: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "about": self.about,
            "finished": self.finished,
            "outputs": self.outputs,
            **_shown_to_dict(self),
            "compute": self.compute,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Marker:
        return cls(
            d["stage"], d["about"], d["finished"], d.get("outputs", []), **_shown_from_dict(d), compute=d["compute"],
            notes=d["notes"],
        )  # fmt: skip


@dataclass
class StageEntry:
    """One stage in ``results.json``: its marker's records once done, else the seconds worked so far."""

    stage: str
    about: str
    folder: str
    done: bool
    compute: dict
    figures: list[PageFigure] = field(default_factory=list)
    tables: list[PageTable] = field(default_factory=list)
    results: list[PageResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    finished: str = ""

    def to_dict(self) -> dict:
        entry = {"stage": self.stage, "about": self.about, "folder": self.folder, "done": self.done}
        if not self.done:
            return entry | {"compute": self.compute}
        return entry | {
            **_shown_to_dict(self),
            "compute": self.compute,
            "notes": self.notes,
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, d: dict) -> StageEntry:
        return cls(
            d["stage"], d["about"], d["folder"], d["done"], d.get("compute", {}), **_shown_from_dict(d),
            notes=d.get("notes", []), finished=d.get("finished", ""),
        )  # fmt: skip


@dataclass
class Summary:
    """``results.json``: a recipe folder in one record, each stage's entry, the machine, the expected time."""

    recipe: str
    title: str
    scale: str
    command: str
    expected_hours: float
    complete: bool
    stages: list[StageEntry]
    machine: dict[str, str]
    levers: dict = field(default_factory=dict)  # stage_context.Levers chosen on the command line, as a dict

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe,
            "title": self.title,
            "scale": self.scale,
            "command": self.command,
            "expected_hours": self.expected_hours,
            "complete": self.complete,
            "stages": [entry.to_dict() for entry in self.stages],
            "machine": self.machine,
            "levers": self.levers,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Summary:
        stages = [StageEntry.from_dict(entry) for entry in d["stages"]]
        return cls(d["recipe"], d["title"], d["scale"], d["command"], d["expected_hours"], d["complete"], stages,
                   d["machine"], d.get("levers", {}))  # fmt: skip

    def results(self) -> list[PageResult]:
        """The results of every done stage, in stage order."""
        return [result for entry in self.stages if entry.done for result in entry.results]
