"""Which ``--ema`` half-life: several averaged generators shadow ONE run, and each is scored at the same steps.

python -m benchmarks.ema_half_life --half-lives 0,2,5,10,20 --eval-every 117 [--data DATA --eval-features NET]
    [--out runs/ema-sweep] [--json out.json] [-- extra dcgan train flags, e.g. --epochs 5]

The averages never touch the game, so one run gives every curve: the raw G (half-life 0) and each
average, all on the same z, with the run's own metrics (default: the bundled MNIST sample and its
bundled domain network, n = 2,000). Prints a table (FID / precision / recall by step and training CPU
seconds) and writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dcgan import TrainConfig
from dcgan.cli.main import build_parser
from dcgan.cli.options import given
from dcgan.core.features import extract
from dcgan.metrics.evaluate import generated_images, sample_images, score
from dcgan.metrics.networks import feature_network
from dcgan.training import start
from dcgan.training.averaging import GeneratorAverage
from dcgan.training.callbacks import Callback


class Shadows(Callback):
    """One averaged G per half-life, updated after every step and scored every ``every`` steps."""

    def __init__(self, half_lives: list[float], every: int, rampup: float, n: int):
        self.half_lives, self.every, self.rampup, self.n = half_lives, every, rampup, n
        self.rows: list[dict] = []

    def on_start(self, trainer) -> None:
        cfg = trainer.config
        self.averages = {h: GeneratorAverage(trainer.G, h, self.rampup, cfg.noise) for h in self.half_lives if h}
        self.extractor = feature_network(cfg.eval_features, device=trainer.device)
        self.real = extract(self.extractor, sample_images(trainer.data.images, self.n, cfg.seed), progress=False)
        self.cpu, self.spent = time.process_time(), 0.0

    def on_step(self, trainer) -> None:
        started = time.process_time()
        for average in self.averages.values():
            average.update(trainer.step * trainer.global_batch, trainer.global_batch)
        if trainer.step % self.every == 0 or trainer.step == trainer.total_steps:
            cpu_s = started - self.cpu - self.spent
            for h in self.half_lives:
                G = self.averages[h].calibrated(trainer.config.batch_size) if h else trainer.G
                fake = generated_images(G, self.n, trainer.config.seed, trainer.config.noise)
                values = score(self.real, extract(self.extractor, fake, progress=False), seed=trainer.config.seed)
                self.rows.append({"step": trainer.step, "cpu_s": cpu_s, "half_life_kimg": h, **values})
                print(f"step {trainer.step} half-life {h:g} kimg: fid {values['fid']:.2f}", flush=True)
        self.spent += time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half-lives", default="0,2,5,10,20", help="kimg; 0 is the raw G")
    parser.add_argument("--rampup", type=float, default=0.05)
    parser.add_argument("--eval-every", type=int, default=117)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--data")
    parser.add_argument("--eval-features", default=None, help="default: the bundled MNIST network (no --data)")
    parser.add_argument("--out", default="runs/ema-sweep")
    parser.add_argument("--json", type=Path)
    args, extra = parser.parse_known_args()
    extra = [flag for flag in extra if flag != "--"]
    half_lives = [float(h) for h in args.half_lives.split(",")]
    overrides = {"data": args.data, "out": args.out, "progress": False, "eval_features": args.eval_features}
    config = TrainConfig(**overrides)
    if extra:
        config = TrainConfig(**{**given(build_parser().parse_args(["train", *extra]), TrainConfig), **overrides})
    config = config.updated(eval_features=config.eval_features or "domain")
    shadows = Shadows(half_lives, args.eval_every, args.rampup, args.n)
    start(config, callbacks=[shadows]).fit()
    steps = sorted({row["step"] for row in shadows.rows})
    print("\nstep  CPU s  " + "  ".join(f"fid@{h:g}" for h in half_lives))
    for step in steps:
        rows = {row["half_life_kimg"]: row for row in shadows.rows if row["step"] == step}
        cpu = rows[half_lives[0]]["cpu_s"]
        print(f"{step:5d} {cpu:6.0f}  " + "  ".join(f"{rows[h]['fid']:7.2f}" for h in half_lives))
    if args.json:
        args.json.write_text(json.dumps(shadows.rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
