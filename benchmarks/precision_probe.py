"""bf16 against fp32 on this CPU: what ``--precision auto``'s probe decides, and the step time in process CPU seconds.

python -m benchmarks.precision_probe --resolution 32 [--preset small] [--g-width N --d-width N] [--steps 4]

The probe (wall clock, fastest of three steps, as training runs it) is printed first; then each precision is timed
twice, alternately, over ``--steps`` steps after a warm-up, in process CPU seconds and wall seconds per step.
"""

from __future__ import annotations

import argparse
import time

import torch

from dcgan import TrainConfig
from dcgan.core.models import Discriminator, Generator
from dcgan.training.autoprecision import choose_precision, step_timer
from dcgan.training.step import Precision, make_optimizers, train_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--g-width", type=int)
    parser.add_argument("--d-width", type=int)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = TrainConfig(preset=args.preset, g_width=args.g_width, d_width=args.d_width).fitted_to(args.resolution, 3)
    spec, cpu, layout = config.model_spec(), torch.device("cpu"), torch.channels_last
    G, D = Generator(spec).to(memory_format=layout), Discriminator(spec).to(memory_format=layout)
    print("probe:", choose_precision(cpu, step_timer(G, D, config, cpu, layout))[1])
    real = (torch.rand(config.batch_size, 3, args.resolution, args.resolution) * 2 - 1).contiguous(memory_format=layout)
    z = torch.randn(config.batch_size, spec.nz)
    for name in ("fp32", "bf16", "fp32", "bf16"):
        opt_g, opt_d = make_optimizers(G, D, config, cpu)
        precision = Precision(name, cpu)
        train_step(G, D, opt_g, opt_d, real, z, precision)  # warm-up
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(args.steps):
            train_step(G, D, opt_g, opt_d, real, z, precision)
        cpu_s = (time.process_time() - cpu_start) / args.steps
        wall_s = (time.perf_counter() - wall_start) / args.steps
        print(
            f"{args.resolution}px {spec.g_width}/{spec.d_width} {name}: {cpu_s:.2f} CPU s/step, {wall_s:.2f} wall s/step"
        )


if __name__ == "__main__":
    main()
