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
