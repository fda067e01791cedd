"""A run's state: its checkpoint round trip (every part back as it was), and the position a checkpoint records."""

import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import load_checkpoint, train
from dcgan.training import Position, TrainConfig, Trainer


def parts(trainer: Trainer) -> dict[str, torch.Tensor]:
    """Every tensor of the state, by name: networks, optimizers, random streams, fixed noise, ADA's p."""
    s = trainer.state
    out = {f"G.{k}": v for k, v in s.G.state_dict().items()} | {f"D.{k}": v for k, v in s.D.state_dict().items()}
    out |= {f"G_ema.{k}": v for k, v in s.average.G.state_dict().items()}
    for name, opt in (("opt_g", s.opt_g), ("opt_d", s.opt_d)):
        for idx, entries in opt.state_dict()["state"].items():
            out |= {f"{name}.{idx}.{k}": v for k, v in entries.items()}
    out |= {"noise": s.noise_rng.get_state(), "fixed_noise": s.fixed_noise} | s.augment.state()
    return out


def test_the_state_comes_back_from_its_checkpoint_as_it_was(tmp_path):
    options = {"steps": 3, "ema": 1.0, "augment": "ada", "ada_kimg": 0.1, "save_every_minutes": 0}
    trained = train(tiny_config(tmp_path / "a", **options), blobs(64))  # 2 steps per epoch: ends inside epoch 2
    ckpt = load_checkpoint(trained.run_dir)
    fresh = Trainer(tiny_config(tmp_path / "b", **options), blobs(64), tmp_path / "b" / "run")
    trained_weights = zip(fresh.G.parameters(), trained.G.parameters(), strict=True)
    assert any(not torch.equal(p, q) for p, q in trained_weights)  # the same seed, 3 steps behind
    fresh.state.restore(ckpt, world_size=1)
    restored, expected = parts(fresh), parts(trained)
    assert restored.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(restored[name].float(), value.float()), name
    assert (fresh.epoch, fresh.batch_in_epoch, fresh.step) == (trained.epoch, trained.batch_in_epoch, 3) == (1, 1, 3)
    # the metadata: the run's config, then the counters, then what the run trains on
    assert list(ckpt.meta)[:8] == [
        "format",
        "model",
        "config",
        "epoch",
        "batch_in_epoch",
        "step",
        "num_images",
        "world_size",
    ]


def test_a_resume_with_another_number_of_processes_continues_at_the_next_unseen_image(tmp_path):
    trained = train(tiny_config(tmp_path, batch_size=8, steps=3), blobs(64))  # 8 steps of 8 per epoch: at batch 3
    ckpt = load_checkpoint(trained.run_dir)
    ckpt.meta["world_size"] = 4  # as if 4 processes had trained 3 global batches of 32
    trained.state.restore(ckpt, world_size=2)
    assert (trained.epoch, trained.batch_in_epoch, trained.step) == (0, 6, 3)  # 96 images = 6 batches of 16


def meta(**counters) -> dict:
    config = TrainConfig(batch_size=16).to_dict()
    return {"config": config, "num_images": 1000, "epoch": 2, "batch_in_epoch": 0, "step": 124} | counters


def test_a_checkpoint_position_is_what_its_metadata_implies():
    position = Position.of_checkpoint(meta(world_size=2, batch_in_epoch=12, step=136))
    assert (position.global_batch, position.steps_per_epoch, position.images_seen) == (32, 31, 136 * 32)
    assert str(position) == "epoch 3, step 12 of 31 (part-way)"
    assert str(Position.of_checkpoint(meta())) == "end of epoch 2"  # 1000 // 16 = 62 steps per epoch
    assert Position.of_checkpoint(meta()).steps_per_epoch == 62  # no world_size: one process
    assert Position.of_checkpoint({"config": {}, "model": {}}) is None  # a pytorch/examples file says nothing


@pytest.mark.parametrize(
    ("length", "total", "finished"),
    [
        ({"epochs": 2}, 124, True),  # the end of epoch 2: here
        ({"epochs": 5}, 124 + 3 * 62, False),
        ({"steps": 100}, 100, True),
        ({"kimg": 3.2}, 200, False),  # 3,200 images in steps of 16
    ],
)
def test_a_position_says_where_a_run_of_a_config_ends_and_whether_it_has(length, total, finished):
    position = Position.of_checkpoint(meta())
    config = TrainConfig(batch_size=16, **length)
    assert position.total_steps(config) == total and position.finished(config) is finished


def test_after_another_number_of_processes_the_epochs_count_from_where_the_run_is():
    # 31 steps of 32 in epoch 1 (2 processes), then one process: epoch 2 ends 62 of its steps later
    position = Position(epoch=1, batch_in_epoch=0, step=31, num_images=1000, batch_size=16, world_size=1)
    assert position.total_steps(TrainConfig(batch_size=16, epochs=2)) == 31 + 62
