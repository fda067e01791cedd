"""Sample quality during training, so every run answers "how good, after how much compute?".

Every ``eval_every`` steps (and/or ``eval_every_minutes``) the generator is scored against a
fixed random sample of the real data in a fixed feature network (``metrics/``), and one line
``{"kind": "eval", ...}`` joins the step lines in metrics.jsonl: the step, epoch (fractional),
images seen, the training's wall-clock and process CPU seconds (evaluations excluded), and the
metric values. The best checkpoint by ``eval_metric`` is kept as ``checkpoints/best.safetensors``.
The generated images come from a seeded z of their own and G in eval mode, so watching changes
nothing in the run. With ``--ema`` the averaged G is scored (and picks the best checkpoint), and the raw G
on the same z beside it, its values named ``fid_raw`` etc.: one run gives both curves.
"""

from __future__ import annotations

import time

from tqdm import tqdm

from ...core.features import extract
from ...core.models import Generator
from ...core.rundir import BEST, EVAL, RAW
from ...data import load_dataset
from ...metrics.evaluate import generated_images, lower_is_better, sample_images, score
from ...metrics.networks import feature_network
from .hooks import Callback, RunView


class QualityEvaluation(Callback):
    """Scores G every ``eval_every`` steps / ``eval_every_minutes``, logs it, keeps the best checkpoint."""

    def on_start(self, trainer: RunView) -> None:
        cfg = trainer.config
        self.extractor = feature_network(cfg.eval_features, device=trainer.device)
        if cfg.eval_real is None:
            real = trainer.data.images
        else:
            spec = trainer.spec
            real = load_dataset(
                cfg.eval_real, resolution=spec.resolution, channels=spec.channels, cache=cfg.cache
            ).images
        self.real = extract(self.extractor, sample_images(real, cfg.eval_n, cfg.seed), progress=False)
        previous = trainer.run.read_metrics(EVAL)  # a resumed run goes on from its own history
        self.lower = lower_is_better(cfg.eval_metric)
        values = [row[cfg.eval_metric] for row in previous]
        self.best = (min if self.lower else max)(values) if values else None
        self.clock_offset = (previous[-1]["wall_s"], previous[-1]["cpu_s"]) if previous else (0.0, 0.0)
        self.started = (time.perf_counter(), time.process_time())
        self.eval_time = [0.0, 0.0]  # wall and CPU seconds spent evaluating in this process
        self.last_step = previous[-1]["step"] if previous else 0
        self.last_wall = time.perf_counter()

    def _due(self, trainer: RunView) -> bool:
        cfg = trainer.config
        by_steps = cfg.eval_every and trainer.step % cfg.eval_every == 0
        by_time = cfg.eval_every_minutes and time.perf_counter() - self.last_wall >= 60 * cfg.eval_every_minutes
        return bool(by_steps or by_time) and trainer.step != self.last_step

    def on_step(self, trainer: RunView) -> None:
        if self._due(trainer):
            self.evaluate(trainer)

    def on_end(self, trainer: RunView) -> None:
        """The finished run's final generator is always scored (not after a Ctrl-C: stopping stays quick)."""
        if trainer.epoch >= trainer.config.epochs and trainer.step != self.last_step:
            self.evaluate(trainer)

    def _training_seconds(self) -> tuple[float, float]:
        wall = time.perf_counter() - self.started[0] - self.eval_time[0] + self.clock_offset[0]
        cpu = time.process_time() - self.started[1] - self.eval_time[1] + self.clock_offset[1]
        return wall, cpu

    def _score(self, trainer: RunView, G: Generator) -> dict[str, float]:
        cfg = trainer.config
        fake = generated_images(G, cfg.eval_n, cfg.seed, cfg.noise)
        return score(self.real, extract(self.extractor, fake, progress=False), seed=cfg.seed)

    def evaluate(self, trainer: RunView) -> dict:
        """Score the G that samples come from; with an averaged G, also the raw one, on the same z."""
        cfg = trainer.config
        wall_s, cpu_s = self._training_seconds()
        start = (time.perf_counter(), time.process_time())
        values = self._score(trainer, trainer.sampling_generator)
        raw = {f"{k}{RAW}": v for k, v in self._score(trainer, trainer.G).items()} if trainer.average else {}
        self.eval_time[0] += time.perf_counter() - start[0]
        self.eval_time[1] += time.process_time() - start[1]
        value = values[cfg.eval_metric]
        better = self.best is None or (value < self.best if self.lower else value > self.best)
        row = {
            "kind": EVAL,
            "step": trainer.step,
            "epoch": trainer.epoch + trainer.batch_in_epoch / trainer.steps_per_epoch,
            "images_seen": trainer.step * cfg.batch_size,
            "wall_s": wall_s,
            "cpu_s": cpu_s,
            "eval_s": time.perf_counter() - start[0],
            "features": self.extractor.name,
            "n": cfg.eval_n,
            "generator": "ema" if trainer.average else "raw",
            **values,
            **raw,
            "best": better,
        }
        if better:
            self.best = value
            trainer.save(BEST)
        trainer.log([row])
        self.last_step, self.last_wall = trainer.step, time.perf_counter()
        if cfg.progress:
            figures = ", ".join(f"{k} {v:.4g}" for k, v in values.items())
            tqdm.write(f"step {trainer.step}: {figures}{' (best)' if better else ''}")
        return row
