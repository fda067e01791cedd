"""The report and TensorBoard callbacks: chosen from the config, and TensorBoard holds metrics.jsonl's numbers."""

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import blobs, tiny_config
from dcgan import train
from dcgan.training.callbacks import default_callbacks
from dcgan.training.callbacks.reporting import HtmlReport, TensorBoardLog


def test_the_config_chooses_the_callbacks(tmp_path):
    kinds = [type(c) for c in default_callbacks(tiny_config(tmp_path))]
    assert HtmlReport in kinds and TensorBoardLog not in kinds
    assert TensorBoardLog in [type(c) for c in default_callbacks(tiny_config(tmp_path, tensorboard=True))]


def test_tensorboard_logs_the_metrics_grids_and_histograms(tmp_path, single_thread):
    trainer = train(tiny_config(tmp_path, epochs=2, log_every=2, tensorboard=True), blobs(64))
    assert trainer.run.report.is_file()
    events = EventAccumulator(str(trainer.run.tensorboard), size_guidance={"scalars": 0, "images": 0}).Reload()
    rows = trainer.run.read_metrics()
    for key in ("loss_d", "loss_g", "d_x", "d_g_z"):
        logged = events.Scalars(key)
        assert [e.step for e in logged] == [r["step"] for r in rows] == [1, 2, 3, 4]
        assert [e.value for e in logged] == pytest.approx([r[key] for r in rows], rel=1e-6)
    grids = events.Images("samples")
    assert [g.step for g in grids] == [2, 4] and grids[0].width == 2 + 4 * (16 + 2)  # 16 samples, 4 per row
    histograms = set(events.Tags()["histograms"])
    for prefix, net in (("G", trainer.G), ("D", trainer.D)):
        assert {f"{prefix}/{name}" for name, _ in net.named_parameters()} <= histograms
