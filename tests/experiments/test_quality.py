"""Quality against training time after the fact: every kept checkpoint and generator, scored alike."""

import pytest

from conftest import blobs, tiny_config
from dcgan import DCGANError
from dcgan.core.rundir import RunDir
from dcgan.experiments.quality import quality_over_training, saved_checkpoints
from dcgan.metrics import evaluate
from dcgan.training import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """3 epochs of 3 steps on 96 bright discs, a checkpoint each epoch, with an averaged G."""
    tmp_path = tmp_path_factory.mktemp("quality")
    train(tiny_config(tmp_path, epochs=3, resolution=16, checkpoint_every=1, ema=0.1), blobs(96))
    return tmp_path / "run"


def test_every_kept_checkpoint_and_generator_is_scored_as_evaluate_scores_it(run):
    """Against the bundled MNIST sample (None) in the features of the first checkpoint's D (fixed)."""
    kept = saved_checkpoints(RunDir(run))
    assert [p.name for p in kept] == ["epoch_0001.safetensors", "epoch_0002.safetensors", "epoch_0003.safetensors"]
    report = quality_over_training(run, None, "discriminator:" + str(kept[0]), n=40, seed=3)
    assert [(row.step, row.epoch, row.images_seen, row.generator) for row in report.rows] == [
        (step, step // 3, step * 32, generator) for step in (3, 6, 9) for generator in ("ema", "raw")
    ]
    direct = evaluate(kept[1], None, "discriminator:" + str(kept[0]), n=40, seed=3, generator="raw", progress=False)
    assert report.by_generator("raw")[1].values == {k: float(direct.values[k]) for k in report.rows[0].values}
    assert report.n == 40 and report.generators() == ["ema", "raw"]
    table = report.table(hours_per_step=0.5, paper_epoch=90)
    assert table.columns[:4] == ["step", "images seen", "training hours", "share of the paper's epoch (90 images)"]
    assert table.rows[1][:4] == ["6", "192", "3.00", "2.133"] and table.columns[-1] == "raw: fid"
    assert report.figure().size[0] > 500 and report.to_dict()["rows"][0]["generator"] == "ema"


def test_a_run_with_no_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(DCGANError, match="holds no checkpoint to score"):
        quality_over_training(tmp_path, None, "domain")
