"""Where the start-up time of a training run goes: imports, loading the data, building the trainer, the first step.

python -m benchmarks.dataset_startup --data PREPARED_DIR [--limit 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time

t_start = time.perf_counter()
import torch  # noqa: E402

t_torch = time.perf_counter()
from dcgan import TrainConfig  # noqa: E402
from dcgan.core.images import to_unit_range  # noqa: E402
from dcgan.core.sampling import sample_noise  # noqa: E402
from dcgan.training import Trainer, load_training_data, train_step  # noqa: E402

t_dcgan = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="any --data source (a prepared set to time the fast path)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(data=args.data, g_width=16, d_width=16, limit=args.limit, progress=False, out=out)
        t0 = time.perf_counter()
        data = load_training_data(cfg)
        t1 = time.perf_counter()
        trainer = Trainer(cfg, data, out)
        t2 = time.perf_counter()
        real = to_unit_range(data.images[trainer.epoch_order(0)[: cfg.batch_size]].to(trainer.device))
        z = sample_noise(cfg.batch_size, trainer.spec.nz, cfg.noise, trainer.noise_rng, trainer.device)
        train_step(trainer.G, trainer.D, trainer.opt_g, trainer.opt_d, real, z)
        t3 = time.perf_counter()
    print(
        f"import torch {t_torch - t_start:.2f} s | import dcgan {t_dcgan - t_torch:.2f} s | "
        f"load {len(data)} images {t1 - t0:.3f} s | build trainer {t2 - t1:.2f} s | first step {t3 - t2:.2f} s | "
        f"threads {torch.get_num_threads()}"
    )


if __name__ == "__main__":
    main()
