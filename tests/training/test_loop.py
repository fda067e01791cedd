"""The training loop: a tiny real run, exact resume after Ctrl-C or a crash mid-epoch, a second Ctrl-C, resume errors."""

import json
import shutil
import signal

import numpy as np
import pytest
import torch
from PIL import Image

import dcgan.core.tensorfile
import dcgan.training.loop
from conftest import blobs, tiny_config
from dcgan import DCGANError, Generator, load_checkpoint, resume, train
from dcgan.training import Trainer


def state(trainer: Trainer) -> dict[str, torch.Tensor]:
    out = {f"G.{k}": v for k, v in trainer.G.state_dict().items()}
    out |= {f"D.{k}": v for k, v in trainer.D.state_dict().items()}
    for name, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        for idx, entries in opt.state_dict()["state"].items():
            out |= {f"{name}.{idx}.{k}": v for k, v in entries.items()}
    return out


def assert_same_state(a: Trainer, b: Trainer, atol: float = 1e-6) -> None:
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key].float(), sb[key].float(), atol=atol, rtol=0, msg=key)


def metrics(trainer: Trainer) -> list[dict]:
    return [json.loads(line) for line in trainer.run.metrics.read_text().splitlines()]


def test_tiny_training_run_learns_and_writes_its_run_folder(tmp_path):
    data = blobs(256)
    G0 = Generator(tiny_config(tmp_path).updated(resolution=16, channels=1).model_spec())
    trainer = train(tiny_config(tmp_path, epochs=3), data)
    run = trainer.run_dir
    rows = metrics(trainer)
    assert [r["step"] for r in rows] == list(range(1, 3 * 8 + 1))  # 256 // 32 = 8 steps per epoch, one line each
    assert [r["epoch"] for r in rows] == [1] * 8 + [2] * 8 + [3] * 8
    for r in rows:
        assert all(np.isfinite(r[k]) for k in ("loss_d", "loss_g", "d_x", "d_g_z"))
        assert 0 <= r["d_x"] <= 1 and 0 <= r["d_g_z"] <= 1
    losses_d = [r["loss_d"] for r in rows]
    assert max(losses_d) - min(losses_d) > 0.05  # the losses move
    # the first D step starts near chance, log 4 ~ 1.386
    assert rows[0]["loss_d"] == pytest.approx(np.log(4), abs=0.3)
    # weights moved away from initialisation
    moved = [(p - p0).abs().max().item() for p, p0 in zip(trainer.G.parameters(), G0.parameters(), strict=True)]
    assert min(moved) > 0
    # files of the run folder
    assert json.loads((run / "config.json").read_text())["resolution"] == 16
    for name in ["epoch_0001.png", "epoch_0002.png", "epoch_0003.png", "final.png"]:
        assert (run / "samples" / name).is_file()
    assert (run / "loss.png").is_file() and (run / "checkpoints" / "last.safetensors").is_file()
    assert (run / "checkpoints" / "last.json").is_file()
    assert (run / "checkpoints" / "last.safetensors").stat().st_mode & 0o777 == 0o644
    # the fixed-noise samples change as G learns
    first = np.asarray(Image.open(run / "samples" / "epoch_0001.png"), dtype=float)
    last = np.asarray(Image.open(run / "samples" / "epoch_0003.png"), dtype=float)
    assert first.shape == last.shape and np.abs(first - last).mean() > 0.3
    with torch.no_grad():  # batch statistics, so the comparison reflects the weights alone
        z = trainer.fixed_noise
        assert (trainer.G.train()(z) - G0.train()(z)).abs().mean() > 0.05


def test_two_epochs_equal_one_plus_resume_plus_one(tmp_path):
    data = blobs(192)
    straight = train(tiny_config(tmp_path / "a", epochs=2), data)
    half = train(tiny_config(tmp_path / "b", epochs=1), data)
    resumed = resume(half.run_dir, epochs=2, data=data)
    assert resumed.epoch == 2 and resumed.step == straight.step
    assert_same_state(straight, resumed)
    assert metrics(straight) == metrics(resumed)


def test_a_copied_run_resumes_in_the_copy(tmp_path):
    data = blobs(64)
    original = train(tiny_config(tmp_path / "a", epochs=1), data).run_dir
    before = (original / "metrics.jsonl").read_text()
    copy = shutil.copytree(original, tmp_path / "copy")
    resumed = resume(copy, epochs=2, data=data)
    assert resumed.run_dir == copy and json.loads((copy / "config.json").read_text())["out"] == str(copy)
    assert resumed.run.checkpoints == copy / "checkpoints" and resumed.step == 4
    assert (original / "metrics.jsonl").read_text() == before  # the original run is untouched
    assert json.loads((original / "config.json").read_text())["out"] == str(original)


def test_resume_after_ctrl_c_mid_epoch_is_exact(tmp_path, monkeypatch):
    data = blobs(192)
    straight = train(tiny_config(tmp_path / "a", epochs=2), data)

    original_step = dcgan.training.loop.train_step
    calls = {"n": 0}

    def interrupt_after_four(*args, **kwargs):
        out = original_step(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:  # as the SIGINT handler does on the first Ctrl-C
            trainer_ref["t"].stop_request.asked = True
        return out

    trainer_ref = {}
    config = tiny_config(tmp_path / "b", epochs=2)
    trainer = Trainer(config, data, tmp_path / "b" / "run")
    trainer_ref["t"] = trainer
    monkeypatch.setattr(dcgan.training.loop, "train_step", interrupt_after_four)
    with pytest.raises(KeyboardInterrupt, match="resume with"):
        trainer.fit()
    monkeypatch.undo()
    ckpt = load_checkpoint(trainer.run_dir)
    assert (ckpt.meta["epoch"], ckpt.meta["batch_in_epoch"], ckpt.meta["step"]) == (0, 4, 4)
    resumed = resume(trainer.run_dir, data=data)
    assert_same_state(straight, resumed)
    assert metrics(straight) == metrics(resumed)


@pytest.fixture
def sigterm_fails_the_test():
    """SIGTERM's default handler ends the process, pytest with it: one that reaches the test fails the test instead."""

    def unhandled(signum, frame):
        raise AssertionError("SIGTERM reached the test, not the run's handler")

    before = signal.signal(signal.SIGTERM, unhandled)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.mark.usefixtures("sigterm_fails_the_test")
@pytest.mark.parametrize(
    "presses",
    [[signal.SIGINT], [signal.SIGINT, signal.SIGINT], [signal.SIGTERM, signal.SIGINT]],
    ids=["once", "twice", "sigterm-then-ctrl-c"],
)
def test_a_second_ctrl_c_stops_at_once(tmp_path, presses):
    """The first Ctrl-C (or SIGTERM) lets step 3 finish and saves it; a second, inside that step, stops right there:
    no more of the step runs, nothing is saved, epoch 1's checkpoint stays as it was and the run resumes from it."""
    data = blobs(64)  # 2 steps an epoch; without timed saves the last checkpoint is epoch 1's, at step 2
    trainer = Trainer(tiny_config(tmp_path, save_every_minutes=0), data, tmp_path / "run", callbacks=[])
    d_passes, kept = [], {}

    def press(module, inputs):  # D runs three times a step (real, fake, G's update): step 3 starts at the 7th
        d_passes.append(len(d_passes) + 1)
        if len(d_passes) == 7:
            kept["checkpoint"] = trainer.run.last_checkpoint.read_bytes()
        if 7 <= len(d_passes) < 7 + len(presses):
            signal.raise_signal(presses[len(d_passes) - 7])  # its handler runs before this returns

    trainer.D.register_forward_pre_hook(press)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as stopped:
        trainer.fit()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # given back
    steps = [row["step"] for row in metrics(trainer)]
    if len(presses) == 1:
        assert len(d_passes) == 9 and str(stopped.value).startswith("stopped at step 3; resume with: ")
        assert load_checkpoint(trainer.run_dir).meta["step"] == 3 and steps == [1, 2, 3]
        return
    assert len(d_passes) == 8 and str(stopped.value) == ""  # not one more pass of D, no checkpoint, no message
    assert trainer.step == 2 and steps == [1, 2]
    assert trainer.run.last_checkpoint.read_bytes() == kept["checkpoint"]
    assert resume(trainer.run_dir, data=data, callbacks=[]).step == 4


def test_a_crash_mid_epoch_loses_only_the_steps_since_the_timed_save(tmp_path, monkeypatch):
    data = blobs(192)  # 6 steps per epoch
    straight = train(tiny_config(tmp_path / "a", epochs=2), data)
    original_step = dcgan.training.loop.train_step
    calls = {"n": 0}

    def crash_on_the_fifth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("power cut")
        return original_step(*args, **kwargs)

    monkeypatch.setattr(dcgan.training.loop, "train_step", crash_on_the_fifth)
    monkeypatch.setattr(dcgan.training.loop, "monotonic", lambda: 60.0 * calls["n"])  # each step takes a minute
    with pytest.raises(RuntimeError, match="power cut"):
        train(tiny_config(tmp_path / "b", epochs=2, save_every_minutes=1), data)
    monkeypatch.undo()
    ckpt = load_checkpoint(tmp_path / "b" / "run")
    assert (ckpt.meta["epoch"], ckpt.meta["batch_in_epoch"], ckpt.meta["step"]) == (0, 4, 4)
    rows = (tmp_path / "b" / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(row)["step"] for row in rows] == [1, 2, 3, 4]  # flushed before the save
    resumed = resume(tmp_path / "b" / "run", data=data)
    assert_same_state(straight, resumed)
    assert metrics(straight) == metrics(resumed)


def test_resume_errors(tmp_path):
    data = blobs(64)
    with pytest.raises(DCGANError, match="does not exist"):
        resume(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DCGANError, match="holds no checkpoint"):
        resume(tmp_path / "empty")
    done = train(tiny_config(tmp_path, epochs=1), data)
    with pytest.raises(DCGANError, match="already trained 2 of 2 steps"):
        resume(done.run_dir, data=data)
    with pytest.raises(DCGANError, match="already holds a run"):
        train(tiny_config(tmp_path, epochs=1), data)
    with pytest.raises(DCGANError, match="trained on 64 images but the data now has 96"):
        resume(done.run_dir, epochs=2, data=blobs(96))


def test_too_few_images_for_a_batch(tmp_path):
    with pytest.raises(DCGANError, match="fewer than one batch"):
        train(tiny_config(tmp_path, batch_size=128), blobs(100))


def test_a_relative_data_path_is_stored_absolute_so_the_run_resumes_from_anywhere(tmp_path, monkeypatch):
    folder = tmp_path / "work" / "digits"
    folder.mkdir(parents=True)
    for i, image in enumerate(blobs(64).images):
        Image.fromarray(image[0].numpy()).save(folder / f"{i}.png")
    monkeypatch.chdir(tmp_path / "work")
    train(tiny_config(tmp_path, data="digits", resolution=16, epochs=1))
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert stored == str(folder.resolve())
    monkeypatch.chdir(tmp_path)  # elsewhere: the stored path still finds the images
    assert resume(tmp_path / "run", epochs=2).step == 4
