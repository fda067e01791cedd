"""--eval-every and --eval-every-minutes: quality rows in metrics.jsonl, checkpoints/best.safetensors, the quality panel;
--eval-real; config errors."""

import itertools
from time import process_time
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from conftest import blobs, tiny_config
from dcgan import DCGANError, load_checkpoint, train
from dcgan.core.rundir import EVAL, RunDir
from dcgan.metrics import train_classifier
from dcgan.training import Callback
from dcgan.training.callbacks import evaluation


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    out = tmp_path_factory.mktemp("clf")
    train_classifier(blobs(200, resolution=32, seed=3), out, epochs=1, width=8, progress=False)
    return out


def test_eval_every_writes_quality_rows_and_keeps_the_best(tmp_path, classifier):
    config = tiny_config(tmp_path, eval_every=5, eval_features=f"domain:{classifier}", eval_n=48)
    trainer = train(config, blobs(256))  # 8 steps per epoch, 2 epochs
    run = RunDir(trainer.run_dir)
    rows = run.read_metrics(EVAL)
    assert [r["step"] for r in rows] == [5, 10, 15, 16]  # every 5 steps, and the finished run
    assert [r["epoch"] for r in rows] == [5 / 8, 10 / 8, 15 / 8, 2.0]
    assert [r["images_seen"] for r in rows] == [160, 320, 480, 512]
    for key in ("wall_s", "cpu_s"):
        values = [r[key] for r in rows]
        assert values[0] > 0 and all(a < b for a, b in itertools.pairwise(values)), key
    for r in rows:
        assert r["features"].startswith(f"domain:{classifier}") and r["n"] == 48
        assert r["fid"] > 0 and 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["kid_std"] >= 0
    # "best" marks each new minimum of the FID, and best.safetensors is the last of them
    fids = [r["fid"] for r in rows]
    assert [r["best"] for r in rows] == [f == min(fids[: i + 1]) for i, f in enumerate(fids)]
    best_step = max(r["step"] for r in rows if r["best"])
    assert load_checkpoint(run.best_checkpoint).meta["step"] == best_step
    # the step rows are untouched, and loss.png gains its third panel
    assert [r["step"] for r in run.read_metrics()] == list(range(1, 17))
    assert len(run.read_metrics(None)) == len(rows) + 16
    width, height = Image.open(run.loss_plot).size
    assert width / height > 4  # three panels (two without evaluations: about 2.9)


def test_evaluation_changes_nothing_in_the_training(tmp_path, classifier):
    features = f"domain:{classifier}"
    watched = train(tiny_config(tmp_path / "a", epochs=1, eval_every=3, eval_features=features, eval_n=16), blobs())
    plain = train(tiny_config(tmp_path / "b", epochs=1), blobs())
    for a, b in zip(watched.G.parameters(), plain.G.parameters(), strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


class MinutePerStep(Callback):
    """A clock for the evaluation to read: each step takes one minute of it, whatever the machine does."""

    def __init__(self):
        self.now = 0.0

    def on_step(self, trainer):
        self.now = 60.0 * trainer.step


def test_eval_every_minutes_follows_the_training_clock(tmp_path, classifier, monkeypatch):
    clock = MinutePerStep()
    monkeypatch.setattr(evaluation, "time", SimpleNamespace(perf_counter=lambda: clock.now, process_time=process_time))
    config = tiny_config(tmp_path, eval_every_minutes=2.5, eval_features=f"domain:{classifier}", eval_n=16)
    trainer = train(config, blobs(128), callbacks=[clock, evaluation.QualityEvaluation()])  # 4 steps an epoch, 2
    rows = RunDir(trainer.run_dir).read_metrics(EVAL)
    # 2.5 minutes after the start (step 3), 2.5 after that (step 6), and the finished run (step 8)
    assert [(r["step"], r["wall_s"]) for r in rows] == [(3, 180.0), (6, 360.0), (8, 480.0)]


def test_eval_real_is_what_the_samples_are_compared_with(tmp_path, classifier):
    """The same run scored against its training images, against those images as a folder (the same FID), and
    against a folder of other images, larger and in colour (read at the run's size and channels: another FID)."""
    data = blobs(64)
    (tmp_path / "same").mkdir()
    for i, image in enumerate(data.images):
        Image.fromarray(image[0].numpy()).save(tmp_path / "same" / f"{i:02d}.png")
    (tmp_path / "other").mkdir()
    for i, image in enumerate(blobs(64, resolution=32, channels=3, seed=7).images):
        Image.fromarray(255 - image.permute(1, 2, 0).numpy()).save(tmp_path / "other" / f"{i:02d}.png")
    fid = {}
    for real in (None, "same", "other"):
        given = None if real is None else str(tmp_path / real)
        scored = {"eval_every": 2, "eval_real": given, "eval_features": f"domain:{classifier}", "eval_n": 16}
        run = train(
            tiny_config(tmp_path / str(real), epochs=1, **scored), data, [evaluation.QualityEvaluation()]
        ).run_dir
        (row,) = RunDir(run).read_metrics(EVAL)
        fid[real] = row["fid"]
    assert fid[None] == fid["same"] and abs(fid["other"] - fid["same"]) > 0.2 * fid["same"], fid  # measured: 44%


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"eval_every": 5, "data": "a/folder"}, "needs a feature network"),  # no --data: the bundled judge
        ({"eval_every_minutes": 1.0, "eval_features": "discriminator"}, "different D"),
        ({"eval_every": 5, "eval_features": "vgg"}, "unknown feature network"),
        ({"eval_every": 5, "eval_features": "domain:x", "eval_metric": "is"}, "no metric value called 'is'"),
        ({"eval_every": -1}, "0 or more"),
        ({"eval_n": 3}, "at least 4"),
    ],
)
def test_evaluation_options_are_checked(tmp_path, overrides, message):
    with pytest.raises(DCGANError, match=message):
        tiny_config(tmp_path, **overrides)
