"""Health warnings: collapse and a winning D warn; a forced NaN still stops with the last good checkpoint intact."""

import warnings
from types import SimpleNamespace

import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import DCGANError
from dcgan.core.checkpoints import load_checkpoint
from dcgan.errors import DCGANWarning
from dcgan.training import Callback, train
from dcgan.training.callbacks.health import START_STEPS, Health, diversity, winning_d_remedy


class PoisonD(Callback):
    """Sets one of D's weights to NaN after the first epoch's checkpoint (a diverging run)."""

    def on_epoch_end(self, trainer):
        if trainer.epoch == 1:
            with torch.no_grad():
                next(trainer.D.parameters()).fill_(float("nan"))


class FlattenG(Callback):
    """From step ``at`` on, zeroes G's output layer, so every sample is the same grey image (a collapse)."""

    def __init__(self, at: int):
        self.at = at

    def on_metrics(self, trainer, rows):
        if trainer.step >= self.at:
            with torch.no_grad():
                trainer.G.blocks["to_image"][0].weight.zero_()


def test_diversity_is_the_mean_pairwise_thumbnail_distance():
    same = torch.zeros(5, 3, 16, 16)
    assert diversity(same) == 0
    two = torch.stack([-torch.ones(1, 16, 16), torch.ones(1, 16, 16)])
    assert diversity(two) == pytest.approx(16.0)  # 8x8 thumbnails differing by 2 everywhere: sqrt(64 * 4)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    data = blobs(64)  # 2 steps per epoch of 32
    config = tiny_config(tmp_path, epochs=3, log_every=1)
    with pytest.raises(
        DCGANError, match=r"diverged: the losses became .* at step 3; stopped, the last good checkpoint .* is kept"
    ) as err:
        train(config, data, callbacks=[PoisonD(), Health(window=4, every=100)])
    assert "lower --lr" in err.value.fix  # fp32: what to try names the learning rate
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.meta["step"] == 2 and ckpt.meta["epoch"] == 1
    assert all(torch.isfinite(t).all() for name, t in ckpt.tensors.items() if t.is_floating_point())


def test_collapsed_samples_warn(tmp_path):
    health = Health(window=1000, every=1)
    with pytest.warns(DCGANWarning, match="the samples are collapsing") as caught:
        train(tiny_config(tmp_path, epochs=2, log_every=1), blobs(64), callbacks=[FlattenG(at=3), health])
    assert len([w for w in caught if "collapsing" in str(w.message)]) == 1  # warned once, not every step
    shares = dict(health.history)
    assert shares[1] > 0 and shares[2] > 0 and shares[3] == 0 and shares[4] == 0
    assert health.active == {"collapse"}


def test_a_winning_discriminator_warns_once_in_the_start_and_once_after_and_clears_its_note():
    notes = {}
    config = SimpleNamespace(augment="none")
    trainer = SimpleNamespace(
        step=0, note=lambda key, text: notes.__setitem__(key, text), config=config, data=range(3000)
    )
    health = Health(window=3, every=10**9)

    def log(loss_d, loss_g):
        trainer.step += 1
        health.on_metrics(trainer, [{"step": trainer.step, "loss_d": loss_d, "loss_g": loss_g}])

    for _ in range(3):
        log(0.7, 2.0)  # a healthy balance
    assert notes["health"] is None
    with pytest.warns(DCGANWarning, match="D is winning outright") as caught:
        for _ in range(4):
            log(0.01, 12.0)
    assert len(caught) == 1 and notes["health"] == "D wins"
    assert "--augment diffaug" in caught[0].message.fix  # the remedy, with its exact flag
    for _ in range(3):
        log(0.9, 1.5)
    assert notes["health"] is None and not health.active
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        for _ in range(4):
            log(0.01, 12.0)  # back at the threshold: in the bar again, not another warning in the log
    assert notes["health"] == "D wins" and not [w for w in again if issubclass(w.category, DCGANWarning)]
    for _ in range(START_STEPS):
        log(0.9, 1.5)  # healthy past the start
    with pytest.warns(DCGANWarning, match="D is winning outright") as later:
        for _ in range(8):
            log(0.01, 12.0)  # back after the start: the warning that matters is not spent on the start's
    assert len(later) == 1 and "first 300 steps" not in later[0].message.fix


def test_in_the_start_a_winning_d_is_said_to_pass_often_and_the_remedy_waits():
    large, small = winning_d_remedy("none", 50_000, step=40), winning_d_remedy("none", 3000, step=40)
    assert all(f"first {START_STEPS} steps this often passes by itself" in text for text in (large, small))
    assert "passed its best" not in large and "--eval-every" not in large  # nothing to keep yet
    assert small.endswith(winning_d_remedy("none", 3000)) and "if it lasts" in small  # then the usual remedy


def test_a_conditional_run_is_watched_too(tmp_path):
    """The diversity check draws the fixed noise as training does: a conditional G gets its labels."""
    health = Health(window=1000, every=1)
    train(tiny_config(tmp_path, conditional=True, epochs=1, log_every=1), blobs(64), callbacks=[health])
    assert [step for step, _ in health.history] == [1, 2] and all(share > 0 for _, share in health.history)


def test_the_remedy_for_a_winning_d_is_the_next_step_after_the_runs_own_augmentation():
    assert "--augment diffaug" in winning_d_remedy("none", 3000)
    assert "--augment diffaug" in winning_d_remedy("ada", 3000)
    assert "--augment-policy" in winning_d_remedy("diffaug", 3000)


def test_on_a_large_set_the_remedy_for_a_winning_d_is_keeping_the_best_model_not_augmentation():
    remedy = winning_d_remedy("none", 60_000)
    assert "60,000 images" in remedy and "--eval-every" in remedy and "best.safetensors" in remedy
    assert "few thousand" not in remedy and "--augment" not in remedy
