"""The fast path computes the paper's step exactly: same weights as a plain eager reference."""

import copy

import pytest
import torch
from torch import nn

from conftest import blobs, tiny_config
from dcgan import DCGANError
from dcgan.core.images import to_unit_range
from dcgan.training import Precision, Trainer, train_step
from dcgan.training.step import STAT_NAMES


def reference_step(G, D, opt_g, opt_d, real, z):
    """The pytorch/examples formulation: sigmoid + BCELoss, two backward passes for D, NCHW."""
    bce = nn.BCELoss()
    D.zero_grad()
    out_real = torch.sigmoid(D(real))
    bce(out_real, torch.ones_like(out_real)).backward()
    fake = G(z)
    out_fake = torch.sigmoid(D(fake.detach()))
    bce(out_fake, torch.zeros_like(out_fake)).backward()
    opt_d.step()
    G.zero_grad()
    out = torch.sigmoid(D(fake))
    bce(out, torch.ones_like(out)).backward()
    opt_g.step()


@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_path_matches_the_eager_reference(tmp_path, channels_last):
    data = blobs(128, resolution=16, channels=3)
    trainer = Trainer(tiny_config(tmp_path, batch_size=32, channels_last=channels_last), data, tmp_path / "run")
    # the reference starts from the same initial weights, as plain NCHW modules and default Adam
    G, D = copy.deepcopy(trainer.G).to(memory_format=torch.contiguous_format), copy.deepcopy(trainer.D)
    D = D.to(memory_format=torch.contiguous_format)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    noise_rng = torch.Generator().manual_seed(trainer.config.seed + 1)  # the trainer's z stream
    order = trainer.epoch_order(0)
    for b in range(4):
        idx = order[b * 32 : (b + 1) * 32]
        trainer.train_batch(data.images, idx)
        reference_step(G, D, opt_g, opt_d, to_unit_range(data.images[idx]), torch.randn(32, 16, generator=noise_rng))
    for ours, ref in ((trainer.G, G), (trainer.D, D)):
        for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
            # fp32 reassociation differs between kernels; Adam's steps are ~lr = 2e-4, so 2e-5 is far below one step
            torch.testing.assert_close(a.float(), b.float(), atol=2e-5, rtol=1e-4, msg=name)


def test_bf16_step_tracks_fp32(tmp_path):
    data = blobs(64, resolution=16, channels=1)
    runs = {}
    for precision in ("fp32", "bf16"):
        trainer = Trainer(tiny_config(tmp_path / precision, precision=precision), data, tmp_path / precision / "run")
        trainer.train_batch(data.images, trainer.epoch_order(0)[:32])
        runs[precision] = trainer._pending[0]
    assert torch.isfinite(runs["bf16"]).all()
    torch.testing.assert_close(runs["bf16"], runs["fp32"], atol=0.05, rtol=0.05)  # bf16 keeps ~3 significant digits


def test_fp16_needs_a_gpu():
    with pytest.raises(DCGANError, match="fp16 needs a CUDA GPU"):
        Precision("fp16", torch.device("cpu"))


def test_train_step_returns_device_statistics_without_syncing(monkeypatch):
    """The statistics are D's outputs and the losses of this very step, left on the device: the step reads
    nothing back to the host (every way of doing so raises here), so it never waits for the device."""
    from dcgan.core.models import Discriminator, Generator, ModelSpec

    spec = ModelSpec(resolution=16, channels=1, nz=8, g_width=4, d_width=4)
    G, D = Generator(spec), Discriminator(spec)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)  # the weights the step starts from
    real, z = torch.rand(7, 1, 16, 16) * 2 - 1, torch.randn(7, 8)  # an odd batch: E[sign D(x)] cannot be 0
    # plain SGD: Adam reads its step count with .item(), which is the optimizer's affair, not the step's
    opts = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)

    def host_read(*args, **kwargs):
        raise AssertionError("train_step read a tensor back to the host")

    with monkeypatch.context() as patched:
        for way in ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__"):
            patched.setattr(torch.Tensor, way, host_read)
        stats = train_step(G, D, *opts, real, z)
    assert isinstance(stats, torch.Tensor) and stats.shape == (len(STAT_NAMES),) and not stats.requires_grad
    # the same statistics by hand, as pytorch/examples defines them: D's probabilities before its update, and
    # G's loss through the updated D
    with torch.no_grad():
        p_real, p_fake = torch.sigmoid(D0(real)), torch.sigmoid(D0(G0(z)))
        p_after = torch.sigmoid(D(G0(z)))
    expected = {
        "loss_d": -(p_real.log().mean() + (1 - p_fake).log().mean()),
        "loss_g": -p_after.log().mean(),
        "d_x": p_real.mean(),
        "d_g_z": p_fake.mean(),
        "d_x_sign": ((p_real > 0.5).float() * 2 - 1).mean(),
    }
    got = dict(zip(STAT_NAMES, stats.tolist(), strict=True))
    assert got == pytest.approx({name: value.item() for name, value in expected.items()}, abs=1e-5)
    assert len({round(value, 3) for value in got.values()}) == len(STAT_NAMES)  # no two could be swapped unseen


def test_augment_sees_the_real_and_fake_batches_of_d_and_the_fake_batch_of_g():
    from dcgan.core.models import Discriminator, Generator, ModelSpec

    spec = ModelSpec(resolution=16, channels=1, nz=8, g_width=4, d_width=4)
    G, D = Generator(spec), Discriminator(spec)
    opts = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    seen = []

    def augment(images):
        seen.append(images.requires_grad)  # only G's batch carries G's gradient
        return images.flip(3)

    train_step(G, D, *opts, torch.rand(8, 1, 16, 16) * 2 - 1, torch.randn(8, 8), augment=augment)
    assert seen == [False, False, True]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())  # through the augmentation


def test_g_update_leaves_d_gradients_alone():
    """The G step computes no weight gradients for D (the reference computes and discards them)."""
    from dcgan.core.models import Discriminator, Generator, ModelSpec

    torch.manual_seed(0)
    spec = ModelSpec(resolution=16, channels=1, nz=8, g_width=4, d_width=4)
    G, D = Generator(spec), Discriminator(spec)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    real, z = torch.rand(8, 1, 16, 16) * 2 - 1, torch.randn(8, 8)
    train_step(G, D, torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters()), real, z)
    assert all(p.requires_grad for p in D.parameters())  # unfrozen again for the next D update
    # D's gradients are still exactly those of the D loss alone, taken at the weights before the step
    loss_d = nn.functional.softplus(-D0(real)).mean() + nn.functional.softplus(D0(G0(z).detach())).mean()
    loss_d.backward()
    for (name, p), p0 in zip(D.named_parameters(), D0.parameters(), strict=True):
        torch.testing.assert_close(p.grad, p0.grad, msg=name)


def test_g_update_restores_the_callers_own_frozen_d_parameters():
    from dcgan.core.models import Discriminator, Generator, ModelSpec

    spec = ModelSpec(resolution=16, channels=1, nz=8, g_width=4, d_width=4)
    G, D = Generator(spec), Discriminator(spec)
    D.blocks["down1"].requires_grad_(False)  # e.g. a user fine-tuning only the deeper layers
    before = D.blocks["down1"][0].weight.detach().clone()
    trainable = [p for p in D.parameters() if p.requires_grad]
    opt_d = torch.optim.Adam(trainable)
    train_step(G, D, torch.optim.Adam(G.parameters()), opt_d, torch.rand(8, 1, 16, 16) * 2 - 1, torch.randn(8, 8))
    frozen = {name for name, p in D.named_parameters() if not p.requires_grad}
    assert frozen == {"blocks.down1.0.weight"}  # still frozen; every other parameter trainable again
    assert torch.equal(D.blocks["down1"][0].weight, before)
