"""The progress bars of a run: the whole run (images seen, its ETA, the latest losses) and, below it, the
current epoch's steps. The loop adds them itself whenever the config shows progress, whatever else watches."""

from __future__ import annotations

import math
from time import monotonic

from tqdm import tqdm

from ...core.progress import progress_bar
from ...core.rundir import STEP
from .hooks import Callback, RunView

BAR_LOSSES_SECONDS = 1.0  # how often the bar reads the latest losses between flushes (one host sync each time)


def _epoch_label(trainer: RunView) -> str:
    epochs = math.ceil(trainer.total_steps / trainer.steps_per_epoch)
    return f"epoch {min(trainer.epoch + 1, epochs)}/{epochs}"


class ProgressBars(Callback):
    """Two bars, opened at the start and closed however the run ends (a failure too)."""

    def __init__(self) -> None:
        self.run: tqdm | None = None
        self.epoch: tqdm | None = None
        self.read_at = monotonic()

    def on_start(self, trainer: RunView) -> None:
        batch = trainer.global_batch
        self.run = progress_bar(trainer.total_steps * batch, "run", initial=trainer.step * batch)
        self.epoch = progress_bar(
            trainer.steps_per_epoch, _epoch_label(trainer), unit="step", initial=trainer.batch_in_epoch
        )
        self.read_at = monotonic()

    def on_step(self, trainer: RunView) -> None:
        self.run.update(trainer.global_batch)
        self.epoch.update(1)
        if monotonic() - self.read_at >= BAR_LOSSES_SECONDS:
            # between flushes, the bar reads only the last step's losses, at most once a second: one host
            # sync a second instead of one a step, so losses move in the bar without slowing a GPU run
            self._show(trainer, trainer.latest_statistics())

    def on_metrics(self, trainer: RunView, rows: list[dict]) -> None:
        steps = [row for row in rows if row.get("kind", STEP) == STEP]  # not quality evaluations
        if steps:
            self._show(trainer, steps[-1])

    def on_epoch_end(self, trainer: RunView) -> None:
        if trainer.step < trainer.total_steps:  # the last epoch's bar stays full
            self.epoch.reset()
            self.epoch.set_description(_epoch_label(trainer))

    def on_close(self, trainer: RunView) -> None:
        for bar in (self.epoch, self.run):
            if bar is not None:
                bar.close()

    def _show(self, trainer: RunView, last: dict) -> None:
        self.read_at = monotonic()
        losses = {
            "loss_d": f"{last['loss_d']:.3f}",
            "loss_g": f"{last['loss_g']:.3f}",
            "D(G(z))": f"{last['d_g_z']:.2g}",
        }
        self.run.set_postfix(step=trainer.step, **losses, **trainer.notes)
