"""Checkpoints: round trip, generator loading, refused architectures and files, and crashes while saving."""

import os

import pytest
import torch

import dcgan.core.tensorfile
from conftest import blobs, tiny_config
from dcgan import DCGANError, Generator, load_checkpoint, load_generator, train


def test_crash_while_saving_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = train(tiny_config(tmp_path, epochs=1), blobs(64))
    path = trainer.run.checkpoints / "last.safetensors"
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(dcgan.core.tensorfile.os, "replace", crash)
    with pytest.raises(DCGANError, match=r"disk full \(the previous file is unchanged\)"):
        trainer.save()
    assert path.read_bytes() == before
    assert not [p for p in os.listdir(trainer.run.checkpoints) if p.endswith(".tmp")]
    assert load_checkpoint(path).meta["step"] == 2


def test_checkpoint_round_trip_and_generator_loading(tmp_path):
    trainer = train(tiny_config(tmp_path, epochs=1, checkpoint_every=1), blobs(64))
    ckpt = load_checkpoint(trainer.run_dir)
    assert ckpt.meta["step"] == 2 and ckpt.meta["epoch"] == 1 and ckpt.spec == trainer.spec
    assert (trainer.run.checkpoints / "epoch_0001.safetensors").is_file()
    G = load_generator(trainer.run_dir)
    assert not G.training
    z = torch.randn(5, trainer.spec.nz)
    trainer.G.eval()
    torch.testing.assert_close(G(z), trainer.G(z), atol=0, rtol=0)
    for key, value in trainer.G.state_dict().items():
        assert torch.equal(ckpt.part("G")[key], value)
    assert torch.equal(ckpt.tensors["fixed_noise"], trainer.fixed_noise)


def test_mismatched_architecture_is_refused(tmp_path):
    trainer = train(tiny_config(tmp_path, epochs=1), blobs(64))
    other = Generator(trainer.spec.__class__(resolution=16, channels=1, nz=16, g_width=16, d_width=8))
    with pytest.raises(DCGANError, match="different architecture"):
        load_checkpoint(trainer.run_dir).load_model("G", other)


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(DCGANError, match="not a dcgan checkpoint"):
        load_checkpoint(bad)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, foreign)
    with pytest.raises(DCGANError, match="not a dcgan checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(DCGANError, match="holds no checkpoint"):
        load_checkpoint(tmp_path)
