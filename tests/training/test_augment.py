"""Augmentation D sees (--augment): differentiable seeded transforms, ADA's p, and exact resume with them."""

import json

import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import DCGANError, load_checkpoint, resume, train
from dcgan.training import Callback, Trainer
from dcgan.training.augment import ADA_INTERVAL, TRANSFORMS, AdaptiveP, Augment, Draws, make_augment
from dcgan.training.distributed import SINGLE, World


def images(n: int = 3, side: int = 8, dtype=torch.float64) -> torch.Tensor:
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(5), dtype=dtype) * 2 - 1


def transformed(name: str, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Transform ``name`` on every image of ``x`` with numbers drawn from a generator seeded ``seed``."""
    draws = Draws(torch.Generator().manual_seed(seed), len(x), slice(None))
    return TRANSFORMS[name](x, draws, torch.ones(len(x), dtype=torch.bool))


@pytest.mark.parametrize("name", TRANSFORMS)
def test_each_transform_is_differentiable_and_seeded(name):
    x = images().requires_grad_()
    assert torch.autograd.gradcheck(lambda x: transformed(name, x), (x,))
    a, b, other = transformed(name, x), transformed(name, x), transformed(name, x, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, other) and not torch.equal(a, x)


def test_what_the_transforms_do():
    x = images(n=64, side=16)
    shifted = transformed("translation", x)
    # each image moved by whole pixels (at most 2 = 16 / 8) and zero-filled: its values are a subset of the original's
    for before, after in zip(x, shifted, strict=True):
        kept = after[after != 0]
        assert torch.isin(kept, before).all() and kept.numel() >= before.numel() * (14 / 16) ** 2 - 1e-9
    cut = transformed("cutout", x)
    zeros = (cut == 0).all(1).sum((1, 2))  # pixels cut: an 8x8 square, clipped at the edges
    assert zeros.max() == 64 and zeros.min() >= 16 and torch.equal(cut[cut != 0], x[cut != 0])
    mirrored = transformed("flip", x)
    flipped = [torch.equal(m, i.flip(2)) for m, i in zip(mirrored, x, strict=True)]
    assert all(f or torch.equal(m, i) for f, m, i in zip(flipped, mirrored, x, strict=True)) and 16 < sum(flipped) < 48


def test_p_zero_leaves_images_as_they_are_and_p_one_changes_all():
    x = images(n=16, dtype=torch.float32)
    augment = Augment(tuple(TRANSFORMS), torch.Generator().manual_seed(0))
    assert not torch.equal(augment(x), augment(x))  # the stream moves on
    augment.p = torch.tensor(0.0)
    assert torch.equal(augment(x), x)
    augment.p = torch.tensor(1.0)
    assert all(not torch.equal(a, b) for a, b in zip(augment(x), x, strict=True))


def test_each_rank_augments_its_rows_of_the_global_batch_as_one_process_would():
    x = images(n=8, dtype=torch.float32)
    one = Augment(("color", "translation", "cutout"), torch.Generator().manual_seed(0))(x)
    for rank in range(2):
        ranked = Augment(("color", "translation", "cutout"), torch.Generator().manual_seed(0), World(rank, 2))
        assert torch.equal(ranked(x[rank * 4 : rank * 4 + 4]), one[rank * 4 : rank * 4 + 4])


@pytest.mark.parametrize(("sign", "start", "direction"), [(1.0, 0.0, 1), (-1.0, 0.5, -1)])
def test_p_rises_for_a_d_that_always_wins_and_falls_for_one_that_always_loses(sign, start, direction):
    adaptive = AdaptiveP(target=0.6, step=0.1, device=torch.device("cpu"), world=SINGLE)
    augment = Augment(("color",), torch.Generator().manual_seed(0), adaptive=adaptive)
    augment.p = torch.tensor(start)
    for step in range(1, 4 * ADA_INTERVAL + 1):
        augment.observe(torch.tensor(sign), step)
    p = [row["augment_p"] for row in augment.logged()]
    moves = [round(b - a, 6) for a, b in zip([start, *p], p, strict=False)]
    assert moves == ([0.0] * (ADA_INTERVAL - 1) + [direction * 0.1]) * 4  # a move every ADA_INTERVAL steps
    for _ in range(20 * ADA_INTERVAL):  # and it stays within [0, 1]
        augment.observe(torch.tensor(sign), ADA_INTERVAL)
    assert augment.p.item() == (1.0 if direction > 0 else 0.0)


def test_the_configured_speed_and_the_bad_options(tmp_path):
    config = tiny_config(tmp_path, augment="ada", ada_kimg=0.256)
    augment = make_augment(config, torch.device("cpu"), SINGLE, global_batch=32)
    assert augment.adaptive.step == pytest.approx(0.5)  # 4 steps of 32 = 128 images: half of 256
    assert make_augment(tiny_config(tmp_path), torch.device("cpu"), SINGLE, 32) is None  # the paper
    with pytest.raises(DCGANError, match="holds no augmentation state"):  # a checkpoint that lost it
        augment.load_state({"rng.augment": augment.generator.get_state()})
    bad = [
        ({"augment_policy": "color,zoom"}, "cannot read --augment-policy 'color,zoom'"),
        ({"augment_policy": ""}, "cannot read --augment-policy ''"),
        ({"ada_target": 1.0}, r"--ada-target must lie between 0 and 1 .* not 1\.0 and"),
        ({"ada_kimg": 0}, r"(?m)--ada-kimg be above 0, not 0\.6 and 0$"),
    ]
    for options, problem in bad:
        with pytest.raises(DCGANError, match=problem):
            tiny_config(tmp_path, augment="ada", **options)


class StopAt(Callback):
    """Asks the run to stop after step ``step``, as the first Ctrl-C does."""

    def __init__(self, step: int):
        self.step = step

    def on_step(self, trainer):
        if trainer.step == self.step:
            trainer.stop_request.asked = True


def metrics(trainer: Trainer) -> list[dict]:
    return [json.loads(line) for line in trainer.run.metrics.read_text().splitlines()]


@pytest.mark.parametrize("mode", ["diffaug", "ada"])
def test_resume_with_augmentation_mid_epoch_is_bit_exact(tmp_path, mode):
    data = blobs(192, channels=3)  # 6 steps per epoch; stopped after 5: between two moves of p
    config = {"augment": mode, "ada_kimg": 0.5, "augment_policy": "color,translation,cutout,flip", "epochs": 2}
    straight = train(tiny_config(tmp_path / "a", **config), data)
    trainer = Trainer(tiny_config(tmp_path / "b", **config), data, tmp_path / "b" / "run", callbacks=[StopAt(5)])
    with pytest.raises(KeyboardInterrupt, match="resume with"):
        trainer.fit()
    assert load_checkpoint(trainer.run_dir).meta["step"] == 5
    resumed = resume(trainer.run_dir, data=data)
    assert metrics(straight) == metrics(resumed)  # every logged number, p included, bit for bit
    for a, b in ((straight.G, resumed.G), (straight.D, resumed.D)):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y), name
    assert torch.equal(straight.augment.generator.get_state(), resumed.augment.generator.get_state())
    if mode == "ada":
        assert 0 < resumed.augment.p.item() <= 1 and {"augment_p"} <= metrics(resumed)[-1].keys()
    else:
        assert "augment_p" not in metrics(resumed)[-1]


@pytest.mark.parametrize("mode", ["diffaug", "ada"])
def test_an_augmented_conditional_bf16_channels_last_run_trains_and_resumes(tmp_path, mode):
    data = blobs(128, channels=3)
    config = tiny_config(tmp_path, conditional=True, augment=mode, precision="bf16", channels_last=True, epochs=1)
    run = train(config, data)
    rows = metrics(run)
    assert all(torch.isfinite(torch.tensor([r["loss_d"], r["loss_g"]])).all() for r in rows)
    assert all(0 <= r.get("augment_p", 1) <= 1 for r in rows)
    assert (">augment_p<" in (run.run_dir / "report.html").read_text()) == (mode == "ada")  # p charted in the report
    resumed = resume(run.run_dir, data=data, epochs=2)
    assert resumed.step == 8 and resumed.G.spec.num_classes == 2


def test_ada_while_p_stays_zero_trains_exactly_as_the_paper(tmp_path):
    """p = 0 leaves every image as it is, and the augmentation's own random stream touches no other."""
    data = blobs(128, channels=3)
    paper = train(tiny_config(tmp_path / "a", epochs=1), data)
    ada = train(tiny_config(tmp_path / "b", epochs=1, augment="ada", ada_target=0.99), data)  # D never that sure here
    rows = metrics(ada)
    assert [row.pop("augment_p") for row in rows] == [0.0] * len(rows)
    assert rows == metrics(paper)
