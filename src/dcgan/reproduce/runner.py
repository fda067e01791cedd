"""The runner of a recipe's stages: each run once into its folder, skipped when complete, its time recorded.

    RESULTS/NN-STAGE/...            what the stage wrote (figures, tables as JSON, a training run)
    RESULTS/NN-STAGE/done.json      written last and atomically: the stage's outputs, results and compute
    RESULTS/NN-STAGE/sessions.jsonl the seconds each working session of a stage has run, for the compute:
                                    a line every minute while it runs, so kill -9 loses at most a minute;
                                    time the process spent stopped (Ctrl-Z) is not counted; each line
                                    names where the session ran (CPU, torch threads, GPU), since a run
                                    resumed elsewhere or with other threads mixes its hours
    RESULTS/results.html            the results page (page.py), rewritten after every stage

What each stage does is in ``stages/``; this module only runs them and keeps their markers and heartbeats.
A stage counts as done when its ``done.json`` exists and every output it lists is there, so a
stage killed at any moment (kill -9, Ctrl-C, a power cut) simply runs again on the next try,
and a training stage continues from its last checkpoint. This module owns that layout.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from ..core.tensorfile import atomic_write_json
from ..errors import DCGANError
from ..report.html import environment
from .records import Marker, Outcome

DONE = "done.json"
SESSIONS = "sessions.jsonl"
HEARTBEAT_SECONDS = 60.0  # how often a running stage records its seconds so far


@dataclass(frozen=True)
class Stage:
    """One step of a recipe: ``work(folder)`` fills ``folder`` and says what it made."""

    name: str
    work: Callable[[Path], Outcome]
    about: str = ""
    trains: bool = False  # a training stage: under torchrun every process runs it, the rest only the first
    progress: Callable[[Path], str] | None = None  # where a begun stage stands, read from its folder (the plan)


def stage_folder(results: Path, index: int, stage: Stage) -> Path:
    return results / f"{index:02d}-{stage.name}"


def read_done(folder: Path) -> Marker | None:
    """The marker of a complete stage, or None when the stage has not finished (or lost an output since)."""
    try:
        done = Marker.from_dict(json.loads((folder / DONE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((folder / name).exists() for name in done.outputs):
        return None
    return done


def _sessions(folder: Path) -> dict[object, tuple[float, str]]:
    """Each session's seconds at its last record (a session killed by -9 counts up to its last heartbeat), and
    where it ran ("" in the lines of older versions, which did not say)."""
    if not (folder / SESSIONS).is_file():
        return {}
    latest: dict[object, tuple[float, str]] = {}
    for number, line in enumerate((folder / SESSIONS).read_text().splitlines()):
        try:
            record = json.loads(line)
            seconds = float(record["seconds"])
        except (ValueError, KeyError, TypeError):  # a line cut short by a crash
            continue
        session = record.get("session", number)  # lines of older folders: one line per session
        if seconds >= latest.get(session, (0.0, ""))[0]:
            latest[session] = (seconds, str(record.get("machine", "")))
    return latest


def session_seconds(folder: Path) -> float:
    """Seconds of work recorded for a stage over all its sessions; under torchrun every process records its own,
    so this counts process-hours (GPU-hours)."""
    return sum(seconds for seconds, _ in _sessions(folder).values())


def stage_compute(folder: Path) -> dict:
    """A stage's seconds so far, and (once any session said where it ran) those seconds by machine: the page
    says how many of a run's hours ran on which CPU and with how many threads ("" for sessions that did not
    say)."""
    by_machine: dict[str, float] = {}
    for seconds, machine in _sessions(folder).values():
        by_machine[machine] = by_machine.get(machine, 0.0) + seconds
    compute = {"seconds": round(sum(by_machine.values()), 1)}
    if set(by_machine) - {""}:
        compute["machines"] = {machine: round(seconds, 1) for machine, seconds in by_machine.items()}
    return compute


def where_it_runs() -> str:
    """The machine a session runs on, as its hours are told apart: the CPU, the torch threads, the process's GPU
    (under torchrun each process records its own)."""
    threads = torch.get_num_threads()
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{environment()['CPU']}, {threads} torch thread{'' if threads == 1 else 's'}{gpu}"


def counted_seconds(wall: float, cpu: float) -> float:
    """The seconds of work in a stretch of ``wall`` seconds between two records in which the process used ``cpu``
    seconds: all of them, unless the stretch outlasted a heartbeat on less CPU than its length, which is a
    process stopped (Ctrl-Z, SIGSTOP) and not working: then the CPU seconds, at least a heartbeat's worth."""
    return min(wall, max(HEARTBEAT_SECONDS, cpu))


class _Session:
    """Records a stage's seconds every ``HEARTBEAT_SECONDS`` from a background thread, and once at the end."""

    def __init__(self, folder: Path):
        self.file = folder / SESSIONS
        self.name = f"{os.getpid()}-{time.time_ns()}"
        self.machine = where_it_runs()
        self.seconds = 0.0
        self.last = (time.monotonic(), time.process_time())
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="dcgan-stage-heartbeat", daemon=True)

    def __enter__(self) -> _Session:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # also after Ctrl-C or an error: the session's time still counts
        self.stopped.set()
        self.thread.join()
        self.record()

    def _beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            self.record()

    def record(self) -> None:
        now = (time.monotonic(), time.process_time())
        self.seconds += counted_seconds(now[0] - self.last[0], now[1] - self.last[1])
        self.last = now
        line = json.dumps({"session": self.name, "seconds": round(self.seconds, 1), "machine": self.machine})
        with open(self.file, "a") as sessions:  # one short append: processes under torchrun do not clash
            sessions.write(line + "\n")


def run_stage(folder: Path, stage: Stage, log: Callable[[str], None] = print) -> Marker:
    """Run ``stage`` into ``folder`` unless it is complete; returns its marker either way."""
    done = read_done(folder)
    if done is not None:
        log(f"{folder.name}: done before, skipped")
        return done
    folder.mkdir(parents=True, exist_ok=True)
    log(f"{folder.name}: {stage.about or stage.name}")
    with _Session(folder):
        outcome = stage.work(folder)
    missing = [name for name in outcome.outputs() if not (folder / name).exists()]
    if missing:
        raise DCGANError(f"stage {stage.name} did not write {', '.join(missing)}", "report this as a bug")
    done = Marker(
        stage.name,
        stage.about,
        datetime.now(timezone.utc).isoformat(timespec="seconds"),
        outcome.outputs(),
        outcome.figures,
        outcome.tables,
        outcome.results,
        {**outcome.compute, **stage_compute(folder)},
        outcome.notes,
    )
    atomic_write_json(folder / DONE, done.to_dict())
    return done
