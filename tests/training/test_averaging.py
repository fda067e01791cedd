"""--ema: the averaged G follows the formula, resumes exactly, changes nothing in the game, and every reader finds it."""

import json

import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import DCGANError, TrainConfig, load_checkpoint, load_generator, resume, train
from dcgan.cli import main
from dcgan.core.sampling import generate
from dcgan.training.averaging import decay, recalibrate_batchnorm
from dcgan.training.callbacks import Callback


class RecordG(Callback):
    """G's parameters at the start and after every step."""

    def __init__(self):
        self.params = []

    def on_start(self, trainer):
        self.on_step(trainer)

    def on_step(self, trainer):
        self.params.append([p.detach().clone() for p in trainer.G.parameters()])


def test_the_half_life_is_in_images_with_a_ramp_up():
    assert decay(10, 0.0, 10**9, 10_000) == pytest.approx(0.5)  # one half-life in one step
    assert decay(10, 0.0, 10**9, 128) == pytest.approx(0.5 ** (128 / 10_000))
    assert decay(10, 0.05, 1280, 128) == pytest.approx(0.5 ** (128 / 64))  # young run: 5% of 1,280 images
    assert decay(10, 0.05, 10**7, 128) == decay(10, 0.0, 10**7, 128)  # the ramp-up ends


def test_the_averaged_g_after_n_steps_equals_the_formula(tmp_path):
    recorder = RecordG()
    trainer = train(tiny_config(tmp_path, ema=0.1, ema_rampup=0.5), blobs(96), callbacks=[recorder])
    initial, *after_steps = recorder.params
    assert len(after_steps) == trainer.step == 6  # 2 epochs of 3 steps of 32 images
    expected = initial  # the average starts at the initial G
    for step, params in enumerate(after_steps, start=1):
        keep = decay(0.1, 0.5, step * 32, 32)
        expected = [keep * e + (1 - keep) * p for e, p in zip(expected, params, strict=True)]
    for e, a in zip(expected, trainer.average.G.parameters(), strict=True):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-6)


def test_the_average_changes_nothing_in_the_game(tmp_path):
    data = blobs(96)
    plain = train(tiny_config(tmp_path / "a"), data)
    averaged = train(tiny_config(tmp_path / "b", ema=0.1), data)
    for a, b in zip(plain.G.state_dict().values(), averaged.G.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(plain.D.state_dict().values(), averaged.D.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_resume_with_the_average_is_exact(tmp_path):
    data = blobs(192)
    straight = train(tiny_config(tmp_path / "a", epochs=2, ema=0.2), data)
    half = train(tiny_config(tmp_path / "b", epochs=1, ema=0.2), data)
    resumed = resume(half.run_dir, epochs=2, data=data)
    a, b = load_checkpoint(straight.run_dir), load_checkpoint(resumed.run_dir)
    assert a.has_average and sorted(a.tensors) == sorted(b.tensors)
    for name, tensor in a.tensors.items():
        assert torch.equal(tensor, b.tensors[name]), name


def test_every_reader_picks_either_generator(tmp_path):
    run = train(tiny_config(tmp_path, ema=0.1), blobs(64)).run_dir
    ckpt = load_checkpoint(run)
    assert ckpt.generator_name() == "G_ema" and ckpt.generator_name("raw") == "G"
    averaged, raw = load_generator(run), load_generator(run, which="raw")
    z = torch.randn(4, raw.spec.nz)
    assert not torch.equal(averaged(z), raw(z))
    plain = load_checkpoint(train(tiny_config(tmp_path / "plain"), blobs(64)).run_dir)
    assert plain.generator_name() == "G"
    with pytest.raises(DCGANError, match="holds no averaged generator"):
        plain.generator("ema")
    with pytest.raises(DCGANError, match="unknown generator"):
        plain.generator("best")


def test_recalibrated_statistics_follow_from_the_weights_alone(tmp_path):
    G = load_generator(train(tiny_config(tmp_path, ema=0.1), blobs(64)).run_dir)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    torch.manual_seed(123)  # the global RNG plays no part
    recalibrate_batchnorm(G, "normal", 32)
    for name, value in G.state_dict().items():
        torch.testing.assert_close(value, before[name])  # what the checkpoint holds is what recalibration gives
    assert not G.training


def test_bad_ema_options_are_one_line_errors():
    with pytest.raises(DCGANError, match="--ema must be 0"):
        TrainConfig(ema=-1)
    with pytest.raises(DCGANError, match="--ema-rampup between 0 and 1"):
        TrainConfig(ema=1, ema_rampup=2)


def test_the_default_run_judges_itself_with_the_bundled_network_and_both_generators(tmp_path):
    assert TrainConfig(eval_every=100).eval_features == "domain"  # no --data: the bundled MNIST sample's judge
    with pytest.raises(DCGANError, match="needs a feature network"):
        TrainConfig(data="some/folder", eval_every=100)
    train(tiny_config(tmp_path, ema=0.1, eval_every=3, eval_features="domain", eval_n=16), blobs(64))
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [row for row in rows if row.get("kind") == "eval"]
    assert [row["step"] for row in evals] == [3, 4]  # every 3 steps, and the end of the run
    assert all(row["generator"] == "ema" and "fid" in row and "fid_raw" in row for row in evals)
    assert evals[0]["features"] == "domain (bundled, trained on MNIST)"


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")  # what C++ loads
def test_commands_draw_from_the_generator_asked_for(tmp_path, capsys):
    run = train(tiny_config(tmp_path, ema=0.1), blobs(64)).run_dir
    grids = {}
    for which in ("auto", "ema", "raw"):
        out = tmp_path / f"{which}.png"
        assert main(["sample", "--checkpoint", str(run), "-n", "4", "--generator", which, "-o", str(out)]) == 0
        grids[which] = out.read_bytes()
    assert grids["auto"] == grids["ema"] != grids["raw"]
    plain = train(tiny_config(tmp_path / "plain"), blobs(64)).run_dir
    assert main(["sample", "--checkpoint", str(plain), "--generator", "ema", "-o", str(tmp_path / "x.png")]) == 2
    assert "holds no averaged generator" in capsys.readouterr().err
    exported = tmp_path / "g.pt"
    export = ["export", "--checkpoint", str(run), "--format", "torchscript", "--generator", "raw"]
    assert main([*export, "-o", str(exported)]) == 0
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = torch.jit.load(str(exported))(z)
    torch.testing.assert_close(images, generate(load_generator(run, which="raw"), z), rtol=0, atol=1e-5)
    assert (images - generate(load_generator(run, which="ema"), z)).abs().max() > 0.01  # not the average
