"""Callbacks: the loop calls each hook at its point, with the rows it appended, and watching changes nothing."""

import torch

from conftest import blobs, tiny_config
from dcgan import train
from dcgan.training import Callback
from dcgan.training.callbacks import LossPlot, default_callbacks


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


def test_hooks_are_called_in_order_with_the_logged_rows(tmp_path):
    recorder = Recorder()
    trainer = train(tiny_config(tmp_path, epochs=2, log_every=4), blobs(256), callbacks=[recorder])
    kinds = [kind for kind, _ in recorder.calls]
    assert kinds[0] == "start" and kinds[-1] == "end"
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
