"""The run folder: the one place that knows where a training run keeps what.

    RUN/config.json                          the resolved TrainConfig
    RUN/metrics.jsonl                        one JSON line per logged step, and one per quality evaluation
                                             ("kind": "eval"; step rows carry no kind)
    RUN/loss.png                             loss and D-output curves
    RUN/samples/epoch_NNNN.png, final.png    the fixed noise after every epoch, and at the end
    RUN/checkpoints/last.safetensors (+ .json), epoch_NNNN.safetensors, best.safetensors (best evaluation)

Training writes through it; checkpoint loading, the CLI and the tools read through it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LAST = "last.safetensors"
BEST = "best.safetensors"
STEP, EVAL = "step", "eval"  # the kinds of metrics rows


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
    def samples(self) -> Path:
        return self.root / "samples"

    def epoch_samples(self, epoch: int) -> Path:
        return self.samples / f"epoch_{epoch:04d}.png"

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

    def read_metrics(self, kind: str | None = STEP) -> list[dict]:
        """Logged rows of one kind (training steps by default, ``EVAL`` for quality evaluations, ``None`` for every
        row), oldest first; none if the run has logged nothing yet."""
        if not self.metrics.is_file():
            return []
        rows = [json.loads(line) for line in self.metrics.read_text().splitlines() if line.strip()]
        return rows if kind is None else [row for row in rows if row.get("kind", STEP) == kind]

    def append_metrics(self, rows: list[dict]) -> None:
        with self.metrics.open("a") as fh:
            fh.writelines(json.dumps(row) + "\n" for row in rows)

    def drop_metrics_after(self, step: int) -> None:
        """Forget rows logged after ``step`` (written between the last checkpoint and a crash)."""
        if self.metrics.exists():
            kept = [row for row in self.read_metrics(None) if row["step"] <= step]
            self.metrics.write_text("".join(json.dumps(row) + "\n" for row in kept))
