"""Guided backpropagation: the gate against gradients worked out by hand, and on a real (tiny) discriminator."""

import pytest
import torch
from torch import nn

from dcgan import DCGANError
from dcgan.core.models import Discriminator, ModelSpec
from dcgan.experiments.features import conv_layers, random_discriminator
from dcgan.experiments.guided_backprop import (
    feature_figure,
    guided,
    guided_backprop,
    guided_backprop_experiment,
    to_picture,
    visualise_features,
)


def hand_set(w1, w2, rectifier: nn.Module) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 2, bias=False), rectifier, nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w1))
        net[2].weight.copy_(torch.tensor(w2))
    return net


def input_gradient(net: nn.Module, x: list[float]) -> torch.Tensor:
    x = torch.tensor([x], requires_grad=True)
    net(x).sum().backward()
    return x.grad[0]


@pytest.mark.parametrize("rectifier", [nn.ReLU(), nn.LeakyReLU(0.2), nn.LeakyReLU(0.2, inplace=True)])
def test_gate_needs_a_positive_activation_and_a_positive_gradient(rectifier):
    # x = (1, 2): hidden pre-activations (3, 4), both on; output weights (3, -2): unit 2's gradient is negative
    net = hand_set([[1.0, 1.0], [2.0, 1.0]], [[3.0, -2.0]], rectifier)
    assert torch.equal(input_gradient(net, [1.0, 2.0]), torch.tensor([-1.0, 1.0]))  # plain: 3*(1,1) - 2*(2,1)
    with guided(net):
        assert torch.equal(input_gradient(net, [1.0, 2.0]), torch.tensor([3.0, 3.0]))  # unit 2 gated out
    assert torch.equal(input_gradient(net, [1.0, 2.0]), torch.tensor([-1.0, 1.0]))  # hooks removed


def test_leaky_side_passes_nothing_under_the_guided_rule():
    # pre-activations (-1, 4): unit 1 is on the leaky side, its plain gradient is 0.2 * 3
    net = hand_set([[1.0, -1.0], [2.0, 1.0]], [[3.0, 2.0]], nn.LeakyReLU(0.2))
    assert torch.allclose(input_gradient(net, [1.0, 2.0]), torch.tensor([0.6 + 4.0, -0.6 + 2.0]))
    with guided(net):
        assert torch.equal(input_gradient(net, [1.0, 2.0]), torch.tensor([4.0, 2.0]))  # 2 * (2, 1)


@pytest.fixture
def disc():
    torch.manual_seed(0)
    return Discriminator(ModelSpec(resolution=16, channels=1, d_width=4)).eval()


@pytest.mark.parametrize("layer", ["down1", "down2"])
def test_maps_are_per_image_and_match_a_manual_guided_gradient(disc, layer):
    images = torch.rand(3, 1, 16, 16) * 2 - 1
    maps = guided_backprop(disc, images, layer, 1)
    assert maps.shape == images.shape and maps.abs().sum() > 0
    alone = guided_backprop(disc, images[2:], layer, 1)
    assert torch.allclose(maps[2:], alone, atol=1e-6)  # eval-mode BatchNorm: images do not mix
    x = images[:1].clone().requires_grad_(True)
    with guided(disc):
        disc.features(x, upto=layer)[layer][0, 1].max().backward()
    assert torch.allclose(maps[:1], x.grad, atol=1e-6)


def test_guided_map_differs_from_plain_gradient(disc):
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    x = images.clone().requires_grad_(True)
    disc.features(x, upto="down2")["down2"][:, 0].flatten(1).max(1).values.sum().backward()
    guided_maps = guided_backprop(disc, images, "down2", 0)
    assert not torch.allclose(x.grad, guided_maps)


def test_visualise_picks_the_most_active_maps_and_their_top_images(disc):
    images = torch.randint(0, 256, (20, 1, 16, 16), dtype=torch.uint8)
    vis = visualise_features(disc, images, "down2", features=3, per_feature=4)
    peaks = disc.features(images.float() / 127.5 - 1, upto="down2")["down2"].flatten(2).max(2).values
    assert vis.channels == peaks.mean(0).argsort(descending=True)[:3].tolist()
    assert torch.equal(vis.top_images[0], peaks[:, vis.channels[0]].argsort(descending=True)[:4])
    assert vis.maps.shape == (3, 4, 1, 16, 16)
    picture = to_picture(vis.maps)
    assert picture.min() >= -1 and picture.max() <= 1
    assert feature_figure({"trained": vis, "random": vis}).size[1] == 2 + 6 * 18


def test_unknown_layer_and_map_are_errors(disc):
    with pytest.raises(DCGANError, match="no discriminator layer"):
        guided_backprop(disc, torch.zeros(1, 1, 16, 16), "up1", 0)
    with pytest.raises(DCGANError, match="do not exist"):
        visualise_features(disc, torch.zeros(2, 1, 16, 16, dtype=torch.uint8), "down1", channels=[99])


def test_the_experiment_sets_the_trained_d_beside_a_random_one(disc):
    images = torch.randint(0, 256, (20, 1, 16, 16), dtype=torch.uint8)
    report = guided_backprop_experiment(disc, images, features=2, per_feature=3, seed=4)
    layer = conv_layers(disc)[-1]
    random_d = visualise_features(random_discriminator(disc.spec, 4), images, layer, 2, 3)
    assert report.layer == layer and list(report.panels) == ["trained", "random"]
    assert report.panels["trained"].channels == visualise_features(disc, images, layer, 2, 3).channels
    assert torch.equal(report.panels["random"].maps, random_d.maps)
    assert report.to_dict() == {"layer": layer, "maps": {"trained": report.panels["trained"].channels,
                                                         "random": random_d.channels}}  # fmt: skip
    assert report.figure().size[1] == 2 + 4 * 18  # 2 maps of each D
