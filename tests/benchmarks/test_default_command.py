"""benchmarks.default_command: each pipeline is the command its user runs, and the reference trains and saves."""

import json

import numpy as np
import torch
from PIL import Image


def test_the_default_command_runs_as_shipped_beside_fp32_and_the_reference(tmp_path):
    from benchmarks.default_command import PIPELINES, command

    reference, shipped, fp32 = (command(p, tmp_path, 2, tmp_path / "out") for p in PIPELINES)
    assert "--precision" not in shipped  # as shipped: auto
    assert shipped[shipped.index("--epochs") + 1] == "2" and shipped[shipped.index("--resolution") + 1] == "64"
    assert fp32 == [*shipped, "--precision", "fp32"]
    assert json.loads(reference[-1]) == {"folder": str(tmp_path), "epochs": 2, "out": str(tmp_path / "out")}


def test_the_reference_pipeline_trains_every_epoch_and_saves_its_nets(tmp_path):
    from benchmarks.default_command import run_reference

    rng = np.random.default_rng(0)
    (tmp_path / "images" / "a").mkdir(parents=True)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "images" / "a" / f"{i}.jpg")
    run_reference({"folder": str(tmp_path / "images"), "epochs": 2, "out": str(tmp_path / "out")})
    saved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert saved == ["netD_epoch_0.pth", "netD_epoch_1.pth", "netG_epoch_0.pth", "netG_epoch_1.pth"]
    first, last = (torch.load(tmp_path / "out" / f"netG_epoch_{e}.pth", weights_only=True) for e in (0, 1))
    assert any(not torch.equal(first[k], last[k]) for k in first)  # the second epoch trained G further
