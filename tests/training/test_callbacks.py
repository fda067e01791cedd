"""Callbacks: the loop calls each hook at its point, with the rows it appended, and watching changes nothing;
the progress bars are one, closed however the run ends."""

import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import train
from dcgan.training import Callback, start
from dcgan.training.callbacks import LossPlot, ProgressBars, default_callbacks


class Recorder(Callback):
    def __init__(self):
        self.calls: list[tuple[str, int]] = []
        self.rows: list[dict] = []

    def on_start(self, trainer):
        self.calls.append(("start", trainer.step))

    def on_step(self, trainer):
        self.calls.append(("step", trainer.step))

    def on_metrics(self, trainer, rows):
        self.calls.append(("metrics", trainer.step))
        self.rows += rows

    def on_epoch_end(self, trainer):
        self.calls.append(("epoch", trainer.epoch))

    def on_end(self, trainer):
        self.calls.append(("end", trainer.step))

    def on_close(self, trainer):
        self.calls.append(("close", trainer.step))


def test_hooks_are_called_in_order_with_the_logged_rows(tmp_path):
    recorder = Recorder()
    trainer = train(tiny_config(tmp_path, epochs=2, log_every=4), blobs(256), callbacks=[recorder])
    kinds = [kind for kind, _ in recorder.calls]
    assert kinds[0] == "start" and kinds[-2:] == ["end", "close"]
    assert [n for kind, n in recorder.calls if kind == "step"] == list(range(1, 17))  # 8 steps per epoch
    assert [n for kind, n in recorder.calls if kind == "epoch"] == [1, 2]
    assert [n for kind, n in recorder.calls if kind == "metrics"] == [4, 8, 12, 16]  # every log_every steps
    assert [r["step"] for r in recorder.rows] == list(range(1, 17))
    assert recorder.rows == trainer.run.read_metrics()
    # without the default callbacks there is no loss plot; with them there is
    assert not trainer.run.loss_plot.exists()


def test_watching_does_not_change_the_run(tmp_path):
    a = train(tiny_config(tmp_path / "a", epochs=1), blobs(256), callbacks=[])
    b = train(tiny_config(tmp_path / "b", epochs=1), blobs(256))
    assert any(isinstance(c, LossPlot) for c in default_callbacks(b.config))
    assert b.run.loss_plot.is_file()
    for pa, pb in zip(a.G.parameters(), b.G.parameters(), strict=True):
        assert torch.equal(pa, pb)


class FailAt(Callback):
    def __init__(self, step: int):
        self.step = step

    def on_step(self, trainer):
        if trainer.step == self.step:
            raise RuntimeError("a failing watcher")


def test_the_progress_bars_are_closed_when_the_run_fails(tmp_path):
    recorder = Recorder()
    trainer = start(tiny_config(tmp_path, progress=True), blobs(64), callbacks=[recorder, FailAt(3)])
    with pytest.raises(RuntimeError, match="a failing watcher"):
        trainer.fit()
    assert [kind for kind, _ in recorder.calls][-2:] == ["step", "close"]  # no end: it failed; closed all the same
    bars = trainer.callbacks[-1]
    assert isinstance(bars, ProgressBars) and bars.run.disable and bars.epoch.disable
    assert bars.run.n == 2 * 32  # step 3 failed in a watcher before the bars heard of it


def test_the_bars_follow_the_run_whatever_watches_it_and_close_at_its_end(tmp_path):
    shown = train(tiny_config(tmp_path / "a", progress=True, steps=5), blobs(64), callbacks=[])
    bars = shown.callbacks[-1]
    assert isinstance(bars, ProgressBars) and len(shown.callbacks) == 1  # added by the loop, even to no watchers
    assert (bars.run.n, bars.run.total, bars.epoch.n) == (5 * 32, 5 * 32, 1)  # 2 steps per epoch: in epoch 3
    assert bars.run.disable and bars.epoch.disable  # closed
    assert bars.run.postfix == "D(G(z))={}, loss_d={}, loss_g={}, step=5".format(
        *(f"{shown.run.read_metrics()[-1][k]:{f}}" for k, f in (("d_g_z", ".2g"), ("loss_d", ".3f"), ("loss_g", ".3f")))
    )
    hidden = train(tiny_config(tmp_path / "b", steps=5), blobs(64), callbacks=[])  # --no-progress: no bars
    assert hidden.callbacks == []
