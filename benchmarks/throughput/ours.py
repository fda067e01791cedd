"""Ours: ``Trainer.train_batch`` (the code path of ``dcgan train``), sampling, and the CLI's start-up."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from .measure import device_of, flops_per_image, spec_of, sync


def measure_ours(cfg: dict, folder: Path) -> dict:
    from dcgan import TrainConfig, load_dataset
    from dcgan.training import Trainer

    start = time.perf_counter()
    data = load_dataset(folder, resolution=cfg["resolution"], channels=3)
    decode_s = time.perf_counter() - start
    config = TrainConfig(
        preset=cfg["preset"],
        batch_size=cfg["batch"],
        precision=cfg["precision"],
        channels_last=cfg["channels_last"],
        compile=cfg["compile"],
        device=cfg.get("device", "auto"),
        progress=False,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, data, Path(run_dir))
        images = trainer._place_images()  # where fit() keeps them: on a GPU, the whole uint8 set when it fits
        order = trainer.epoch_order(0)
        batches = [order[i * cfg["batch"] : (i + 1) * cfg["batch"]] for i in range(len(data) // cfg["batch"])]
        start = time.perf_counter()
        trainer.train_batch(images, batches[0])
        sync(trainer.device)
        first_step_s = time.perf_counter() - start  # includes torch.compile's compilation when on
        flops = flops_per_image(lambda: trainer.train_batch(images, batches[1 % len(batches)]), cfg["batch"])
        for i in range(cfg["warmup"]):
            trainer.train_batch(images, batches[i % len(batches)])
        torch.stack(trainer._pending).tolist()  # drain queued device work before timing
        trainer._pending.clear()
        start = time.perf_counter()
        for i in range(cfg["steps"]):
            trainer.train_batch(images, batches[i % len(batches)])
        torch.stack(trainer._pending).tolist()  # the loop's only host sync
        elapsed = time.perf_counter() - start
    return {
        "images_per_s": cfg["steps"] * cfg["batch"] / elapsed,
        "flops_per_image": flops,
        "decode_s": decode_s,
        "first_step_s": first_step_s,
    }


def measure_sampling(cfg: dict) -> dict:
    from dcgan import Generator, generate, sample_noise

    # laid out as Checkpoint.network("G") returns it for `dcgan sample`; generate() returns images on the host
    G = Generator(spec_of(cfg)).to(device_of(cfg), memory_format=torch.channels_last)
    z = sample_noise(cfg["batch"] * 2, G.spec.nz)
    generate(G, z[: cfg["batch"]])
    start = time.perf_counter()
    generate(G, z, batch_size=cfg["batch"])
    return {"images_per_s": len(z) / (time.perf_counter() - start)}


def startup_seconds(repeats: int) -> float:
    """Wall time of a fresh ``dcgan info`` process on a freshly written checkpoint."""
    from dcgan import TrainConfig, train
    from dcgan.data import ImageData

    with tempfile.TemporaryDirectory() as tmp:
        images = torch.randint(0, 255, (64, 1, 16, 16), dtype=torch.uint8)
        config = TrainConfig(epochs=1, batch_size=32, g_width=8, d_width=8, progress=False, out=f"{tmp}/run")
        train(config, ImageData(images))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "dcgan", "info", f"{tmp}/run"], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)
