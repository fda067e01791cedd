"""Data-parallel training under torchrun: 2 CPU processes (gloo) with --sync-bn and 2 x 8 images per step
learn the same weights as 1 process with batch 16, only rank 0 writes, and one process can resume the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image

from conftest import HANG, blobs
from dcgan import Discriminator, Generator, load_checkpoint
from dcgan.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"
TINY = [
    "--g-width",
    "8",
    "--d-width",
    "8",
    "--nz",
    "8",
    "--sample-count",
    "4",
    "--no-progress",
    "--no-cache",
    "--precision",
    "fp32",
]
TOLERANCE = 1e-5  # float sums in another order (per-rank sums, then over ranks); measured: at most 2e-7


def write_blobs(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(blobs(n, resolution=16).images):
        Image.fromarray(image[0].numpy()).save(folder / f"{i:03d}.png")
    return folder


def torchrun(nproc: int, args: list[str], timeout: float = HANG) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    env |= {"OMP_NUM_THREADS": "1", "DCGAN_DIST_TIMEOUT": "60"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    return subprocess.run(
        [*command, "-m", "dcgan", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_two_ranks_with_sync_bn_equal_one_process_with_the_global_batch(tmp_path):
    data = write_blobs(tmp_path / "data", 48)  # 3 steps of 16
    common = ["train", "--data", str(data), "--resolution", "16", "--epochs", "1", *TINY]
    ran = torchrun(2, [*common, "--batch-size", "8", "--sync-bn", "--out", str(tmp_path / "ddp")])
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.count("training in") == 1  # rank 0 alone speaks and writes
    torch.set_num_threads(1)
    assert main([*common, "--batch-size", "16", "--out", str(tmp_path / "one")]) == 0
    ddp, one = load_checkpoint(tmp_path / "ddp"), load_checkpoint(tmp_path / "one")
    assert ddp.meta["step"] == one.meta["step"] == 3 and ddp.meta["world_size"] == 2
    assert torch.equal(ddp.tensors["fixed_noise"], one.tensors["fixed_noise"])
    weights = [name for name in one.tensors if name.startswith(("G.", "D."))]
    worst = max((ddp.tensors[n].float() - one.tensors[n].float()).abs().max().item() for n in weights)
    print(f"largest weight difference, 2 ranks x 8 vs 1 x 16: {worst:.1e}")
    assert worst < TOLERANCE
    torch.manual_seed(0)  # the initial weights, as the trainer draws them: training moved them far beyond the tolerance
    initial = {f"G.{k}": v for k, v in Generator(one.spec).state_dict().items()}
    initial |= {f"D.{k}": v for k, v in Discriminator(one.spec).state_dict().items()}
    assert max((one.tensors[n].float() - initial[n].float()).abs().max().item() for n in weights) > 30 * TOLERANCE
    # the two-process run goes on in one process (another world size): one more epoch, 48 / 8 = 6 steps of 8
    assert main(["train", "--resume", str(tmp_path / "ddp"), "--epochs", "2", "--no-progress"]) == 0
    resumed = load_checkpoint(tmp_path / "ddp")
    assert (resumed.meta["world_size"], resumed.meta["epoch"], resumed.meta["step"]) == (1, 2, 3 + 6)
