"""The CUDA paths that a CPU never reaches: every precision (fp16 with its gradient scalers) with fused Adam,
exact resume, the data set kept on the GPU, NCCL data parallelism, torch.compile, and ``torchrun`` on one GPU.

Marked ``cuda`` and skipped without an NVIDIA GPU; ``benchmarks/gpu_check.sh`` runs them (``pytest -m cuda``).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from conftest import blobs, src_env, tiny_config
from dcgan import load_checkpoint, resume, train
from dcgan.training import Trainer, distributed

# cuBLAS is deterministic only with a fixed workspace, which must be set before CUDA starts
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")]


def cuda_config(tmp_path: Path, **overrides):
    return tiny_config(tmp_path, device="cuda", **overrides)


def logged(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return {k: v.float() for k, v in load_checkpoint(run_dir).tensors.items() if k.startswith(("G.", "D."))}


@pytest.fixture
def deterministic():
    """Deterministic kernels: without them two identical CUDA runs already differ in the last bits."""
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_a_few_steps_in_each_precision_with_fused_adam(tmp_path, precision):
    trainer = train(cuda_config(tmp_path, precision=precision, steps=4), blobs(128))
    assert next(trainer.G.parameters()).is_cuda and next(trainer.D.parameters()).dtype == torch.float32
    assert all(group["fused"] for opt in (trainer.opt_g, trainer.opt_d) for group in opt.param_groups)
    rows = logged(trainer.run_dir)
    assert len(rows) == 4
    assert all(math.isfinite(row[k]) for row in rows for k in ("loss_d", "loss_g", "d_x", "d_g_z"))
    if precision == "fp16":
        assert sorted(trainer.precision.scalers) == ["D", "G"]
        assert all(0 < scaler.get_scale() < math.inf for scaler in trainer.precision.scalers.values())


def test_resume_on_cuda_is_exact(tmp_path, deterministic):
    data = blobs(192)
    straight = train(cuda_config(tmp_path / "a", epochs=2), data)
    half = train(cuda_config(tmp_path / "b", epochs=1), data)
    resumed = resume(half.run_dir, epochs=2, data=data)
    assert resumed.step == straight.step == 12
    assert logged(straight.run_dir) == logged(resumed.run_dir)
    a, b = load_checkpoint(straight.run_dir).tensors, load_checkpoint(resumed.run_dir).tensors
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_a_small_data_set_is_kept_on_the_gpu(tmp_path):
    trainer = Trainer(cuda_config(tmp_path), blobs(128), tmp_path / "run")
    assert trainer._place_images().is_cuda
    trainer.fit()
    assert trainer.step == 8


def test_compile_on_cuda_trains(tmp_path):
    trainer = train(cuda_config(tmp_path, compile=True, steps=3), blobs(128))
    assert all(math.isfinite(row["loss_d"]) for row in logged(trainer.run_dir))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nccl_data_parallel_with_sync_bn_steps_like_one_process(tmp_path, monkeypatch):
    """The DDP wrappers, the all-reduced BatchNorm and the collectives of the loop, on NCCL, in a process group of
    one (two NCCL ranks need two GPUs): the same weights as the plain run, up to the order of float sums."""
    plain = train(cuda_config(tmp_path / "plain", steps=3), blobs(96))
    env = {
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(distributed.World, "distributed", property(lambda world: True))
    try:
        ddp = train(cuda_config(tmp_path / "ddp", steps=3, sync_bn=True), blobs(96))
        assert dist.get_backend() == "nccl"
        assert isinstance(ddp._D_step, torch.nn.parallel.DistributedDataParallel)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    a, b = weights(plain.run_dir), weights(ddp.run_dir)
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-3


def test_torchrun_on_one_gpu(tmp_path):
    env = src_env()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1", "-m", "dcgan"]
    args = ["train", "--device", "cuda", "--limit", "64", "--resolution", "16", "--batch-size", "16", "--steps", "3"]
    args += ["--g-width", "8", "--d-width", "8", "--no-progress", "--no-cache", "--out", str(tmp_path / "run")]
    ran = subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert load_checkpoint(tmp_path / "run").meta["step"] == 3
