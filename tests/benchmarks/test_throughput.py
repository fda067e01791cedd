"""benchmarks.throughput: its per-convolution schedule against the training step it models."""

import torch

from dcgan.training import train_step


def test_the_benchmarks_convolutions_alone_follow_the_training_step():
    """benchmarks.throughput's per-convolution schedule executes exactly the step's convolution FLOPs."""
    from benchmarks.throughput.limits import measure_convs
    from torch.utils.flop_counter import FlopCounterMode

    from dcgan import TrainConfig
    from dcgan.core.models import Discriminator, Generator

    cfg = {"precision": "fp32", "preset": "small", "resolution": 16, "batch": 4, "device": "cpu"}
    limit = measure_convs(cfg)
    names = ["G.project", "G.up1", "G.to_image", "D.down1", "D.down2", "D.logit"]
    assert [layer["layer"] for layer in limit["layers"]] == names
    spec = TrainConfig(preset="small", resolution=16, channels=3).model_spec()
    G, D = Generator(spec), Discriminator(spec)
    opts = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    with FlopCounterMode(display=False) as counter:
        train_step(G, D, *opts, torch.rand(4, 3, 16, 16) * 2 - 1, torch.randn(4, spec.nz))
    assert limit["flops_per_image"] * 4 == counter.get_total_flops()


def test_the_headline_plan_measures_the_64px_small_case_alone():
    """--headline (the GPU check's time-limited table): every variant of 64px small, nothing else."""
    from benchmarks.throughput.plan import configurations, scaling_configurations

    rows = configurations(quick=False, compile_=False, repeats=2, fp16=True, headline=True)
    assert {(row["resolution"], row["preset"], row["repeats"]) for row in rows} == {(64, "small", 2)}
    assert [row["label"] for row in rows][:2] == ["baseline (pytorch/examples)", "ours fp32 (default)"]
    assert any(row.get("precision") == "fp16" for row in rows) and scaling_configurations(True) == []
