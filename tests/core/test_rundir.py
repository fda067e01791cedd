"""The run folder: where a run keeps what, and its metrics log."""

import re
from pathlib import Path

from dcgan.core.rundir import RunDir


def test_paths_of_a_run_folder(tmp_path):
    root = tmp_path / "run"
    run = RunDir(str(root))  # a str is taken as a Path
    assert run.root == root and isinstance(run.root, Path)
    assert run.config == root / "config.json"
    assert run.metrics == root / "metrics.jsonl"
    assert run.loss_plot == root / "loss.png"
    assert run.epoch_samples(3) == root / "samples" / "epoch_0003.png"
    assert run.final_samples == root / "samples" / "final.png"
    assert run.last_checkpoint == root / "checkpoints" / "last.safetensors"
    assert run.epoch_checkpoint(5) == root / "checkpoints" / "epoch_0005.safetensors"
    assert run.epoch_checkpoint(12345) == root / "checkpoints" / "epoch_12345.safetensors"
    assert not root.exists()  # naming the paths creates nothing
    assert re.fullmatch(r"runs/\d{8}-\d{6}", RunDir.new().root.as_posix())


def test_metrics_append_read_and_drop_after_a_step(tmp_path):
    run = RunDir(tmp_path)
    assert run.read_metrics() == []
    run.drop_metrics_after(3)  # nothing logged yet: nothing to drop, and no file made
    assert not run.metrics.exists()
    steps = [2, 3, 7, 9, 12, 13, 20]  # every log_every steps, and at each epoch's end
    rows = [{"step": step, "epoch": 1 + step // 8, "loss_d": 1 / step, "d_x": 0.5} for step in steps]
    run.append_metrics(rows[:2])
    run.append_metrics(rows[2:])
    assert run.read_metrics() == rows  # every row, in order, floats exactly
    assert len(run.metrics.read_text().splitlines()) == len(rows) == 7
    run.drop_metrics_after(10)  # steps 2 .. 9 were logged by then; 12 .. 20 came after
    assert [row["step"] for row in run.read_metrics()] == [2, 3, 7, 9] and run.read_metrics() == rows[:4]
    run.drop_metrics_after(9)  # a step that was logged is kept
    assert run.read_metrics() == rows[:4]
    run.append_metrics([rows[4]])  # logging goes on after the kept rows
    assert run.read_metrics() == rows[:5]
    run.drop_metrics_after(0)
    assert run.read_metrics() == [] and run.metrics.read_text() == ""


def test_report_paths_and_the_saved_epoch_grids_in_order(tmp_path):
    run = RunDir(tmp_path)
    assert run.report == tmp_path / "report.html" and run.tensorboard == tmp_path / "tensorboard"
    assert run.saved_epoch_samples() == {}
    for epoch in (10, 2, 1):
        run.epoch_samples(epoch).parent.mkdir(exist_ok=True)
        run.epoch_samples(epoch).write_bytes(b"")
    run.final_samples.write_bytes(b"")  # not an epoch
    assert run.saved_epoch_samples() == {e: run.epoch_samples(e) for e in (1, 2, 10)}
    assert list(run.saved_epoch_samples()) == [1, 2, 10]
