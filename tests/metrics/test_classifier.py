"""The one training loop of the classifiers of labelled images (the domain network, the attribute classifier)."""

import torch
import torch.nn.functional as F
from torch import nn

from dcgan.core.sampling import seeded
from dcgan.metrics.classifier import fit


def test_the_loop_learns_skips_single_image_batches_and_leaves_eval_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    x = torch.randn(65, 2, generator=seeded(1))
    y = (x[:, :1] > 0).float()
    batches = []

    def loss(rows: torch.Tensor) -> torch.Tensor:
        batches.append(rows)
        return F.binary_cross_entropy_with_logits(net(x[rows]), y[rows])

    fit(net, torch.arange(65), loss, epochs=20, batch_size=16, lr=0.05, order=seeded(2), name="test")
    assert not net.training and {len(b) for b in batches} == {16}  # the 65th row alone is skipped: BatchNorm
    assert not torch.equal(batches[0], batches[4])  # a new order every epoch
    with torch.no_grad():
        assert ((net(x) > 0).float() == y).float().mean() > 0.9
    first = [b.tolist() for b in batches[:4]]
    batches.clear()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    fit(net, torch.arange(65), loss, epochs=1, batch_size=16, lr=0.05, order=seeded(2), name="test")
    assert [b.tolist() for b in batches] == first  # the order is the generator's: seeded, repeatable


def test_decay_lowers_the_step_along_a_cosine_to_nearly_nothing():
    """Adam's steps are about the learning rate each: with ``decay`` the last is a small fraction of the first."""
    x = torch.randn(64, 2, generator=seeded(1))
    y = (x[:, :1] > 0).float()

    def steps(decay: bool) -> torch.Tensor:
        torch.manual_seed(0)
        net = nn.Linear(2, 1)
        weights = []

        def loss(rows: torch.Tensor) -> torch.Tensor:
            weights.append(net.weight.detach().clone())
            return F.binary_cross_entropy_with_logits(net(x[rows]), y[rows])

        fit(net, torch.arange(64), loss, epochs=4, batch_size=8, lr=0.01, order=seeded(2), name="test", decay=decay)
        return torch.stack([*weights, net.weight.detach()]).diff(dim=0).norm(dim=-1).squeeze(-1)

    constant, decayed = steps(False), steps(True)
    assert len(constant) == len(decayed) == 32
    assert 0.5 < float(constant[-1] / constant[0]) < 2 and float(decayed[-1] / decayed[0]) < 0.01
