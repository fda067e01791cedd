"""The run folder: the one place that knows where a training run keeps what.

    RUN/config.json                          the resolved TrainConfig
    RUN/metrics.jsonl                        one JSON line per logged step, and one per quality evaluation
                                             ("kind": "eval"; step rows carry no kind)
    RUN/loss.png                             loss and D-output curves
    RUN/samples/epoch_NNNN.png, final.png    the fixed noise after every epoch, and at the end
    RUN/checkpoints/last.safetensors (+ .json), epoch_NNNN.safetensors, best.safetensors (best evaluation)
    RUN/report.html                          the self-contained run report
    RUN/tensorboard/                         TensorBoard event files (with --tensorboard)

Training writes through it; checkpoint loading, the CLI and the tools read through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import DCGANError
from .tensorfile import atomic_write, check_writable_folder, write_error

LAST = "last.safetensors"
BEST = "best.safetensors"
STEP, EVAL = "step", "eval"  # the kinds of metrics rows
RAW = "_raw"  # in an eval row of a run with an averaged G: the suffix of the raw G's values ("fid_raw", ...)


@dataclass(frozen=True)
class RunDir:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def new(cls) -> RunDir:
        """``runs/<timestamp>``: where a run goes when no ``--out`` is given."""
        return cls(Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S"))

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def loss_plot(self) -> Path:
        return self.root / "loss.png"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def epoch_samples(self, epoch: int) -> Path:
        return self.samples / f"epoch_{epoch:04d}.png"

    def saved_epoch_samples(self) -> dict[int, Path]:
        """Every epoch grid on disk, by epoch number, in order."""
        found = {int(p.stem.removeprefix("epoch_")): p for p in self.samples.glob("epoch_[0-9]*.png")}
        return dict(sorted(found.items()))

    @property
    def final_samples(self) -> Path:
        return self.samples / "final.png"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / BEST

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / f"epoch_{epoch:04d}.safetensors"

    def saved_epoch_checkpoints(self) -> dict[int, Path]:
        """Every epoch checkpoint on disk (``--checkpoint-every``), by epoch number, in order."""
        found = {int(p.stem.removeprefix("epoch_")): p for p in self.checkpoints.glob("epoch_[0-9]*.safetensors")}
        return dict(sorted(found.items()))

    def prepare(self) -> None:
        """Prove the folder (or where it will be made) takes files, before any data is read or network built."""
        check_writable_folder(self.root, "choose a writable --out folder with free space")

    def remove_partial_writes(self) -> None:
        """Delete the temporary files of checkpoint writes that a crash (kill -9) cut short."""
        if self.checkpoints.is_dir():
            for partial in self.checkpoints.glob(".*.tmp"):
                partial.unlink(missing_ok=True)

    def read_metrics(self, kind: str | None = STEP) -> list[dict]:
        """Logged rows of one kind (training steps by default, ``EVAL`` for quality evaluations, ``None`` for every
        row), oldest first; none if the run has logged nothing yet.

        A last line without its newline is an append that a crash cut short: it is left out.
        """
        if not self.metrics.is_file():
            return []
        text = self.metrics.read_text()
        lines = text.split("\n")
        rows = []
        for number, line in enumerate(lines[:-1], 1):  # the text after the last newline is a partial line or ""
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise DCGANError(
                    f"{self.metrics} line {number} is not JSON", "delete the damaged lines, or the file"
                ) from None
        return rows if kind is None else [row for row in rows if row.get("kind", STEP) == kind]

    def append_metrics(self, rows: list[dict]) -> None:
        try:
            with self.metrics.open("a") as fh:
                fh.writelines(json.dumps(row) + "\n" for row in rows)
        except OSError as exc:
            raise write_error(self.metrics, exc, then=", then resume the run") from None

    def drop_metrics_after(self, step: int) -> None:
        """Forget rows logged after ``step`` (written between the last checkpoint and a crash)."""
        if self.metrics.exists():
            kept = [row for row in self.read_metrics(None) if row["step"] <= step]
            atomic_write(self.metrics, "".join(json.dumps(row) + "\n" for row in kept).encode())
