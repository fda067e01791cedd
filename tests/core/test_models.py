"""The networks against the paper's architecture guidelines, layer by layer."""

import pytest
import torch
from torch import nn

from dcgan import DCGANError, Discriminator, Generator, ModelSpec, TrainConfig

RESOLUTIONS = [16, 32, 64, 128, 256]


def layers(net: nn.Module, kind) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


@pytest.mark.parametrize("resolution", RESOLUTIONS)
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_ranges_for_every_resolution(resolution, channels):
    spec = ModelSpec(resolution=resolution, channels=channels, nz=12, g_width=4, d_width=4)
    G, D = Generator(spec), Discriminator(spec)
    z = torch.randn(3, 12)
    x = G(z)
    assert x.shape == (3, channels, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0
    logits = D(x)
    assert logits.shape == (3,)
    # one transposed conv / conv per factor of two between 4x4 and the image, plus the 4x4 ends
    scales = resolution.bit_length() - 3
    assert len(layers(G, nn.ConvTranspose2d)) == scales + 1
    assert len(layers(D, nn.Conv2d)) == scales + 1


def test_no_pooling_no_hidden_linear_layers():
    for net in (Generator(ModelSpec()), Discriminator(ModelSpec())):
        for m in net.modules():
            assert not isinstance(
                m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Upsample)
            )


def test_generator_layer_by_layer():
    G = Generator(ModelSpec(resolution=64))
    names = list(G.blocks)
    assert names == ["project", "up1", "up2", "up3", "to_image"]
    for name in names[:-1]:
        conv, bn, act = G.blocks[name]
        assert isinstance(conv, nn.ConvTranspose2d) and isinstance(bn, nn.BatchNorm2d) and isinstance(act, nn.ReLU)
        assert conv.stride == ((1, 1) if name == "project" else (2, 2))
    conv, act = G.blocks["to_image"]  # no BatchNorm on the output layer
    assert isinstance(conv, nn.ConvTranspose2d) and conv.stride == (2, 2) and isinstance(act, nn.Tanh)


def test_discriminator_layer_by_layer():
    D = Discriminator(ModelSpec(resolution=64))
    assert list(D.blocks) == ["down1", "down2", "down3", "down4", "logit"]
    conv, act = D.blocks["down1"]  # no BatchNorm on the input layer
    assert isinstance(conv, nn.Conv2d) and conv.stride == (2, 2)
    assert isinstance(act, nn.LeakyReLU) and act.negative_slope == 0.2
    for name in ["down2", "down3", "down4"]:
        conv, bn, act = D.blocks[name]
        assert conv.stride == (2, 2) and isinstance(bn, nn.BatchNorm2d) and act.negative_slope == 0.2
    conv = D.blocks["logit"][0]
    assert conv.out_channels == 1 and conv.kernel_size == (4, 4) and conv.stride == (1, 1)
    assert not layers(D, nn.Sigmoid)  # logits; the loss applies the sigmoid stably


def test_presets_match_the_paper():
    paper = TrainConfig(preset="paper", resolution=64, channels=3).model_spec()
    G = Generator(paper)
    assert [G.blocks[n][0].out_channels for n in G.blocks] == [1024, 512, 256, 128, 3]
    assert paper.nz == 100
    small = Generator(TrainConfig(preset="small", resolution=64, channels=3).model_spec())
    assert [small.blocks[n][0].out_channels for n in small.blocks] == [512, 256, 128, 64, 3]
    D = Discriminator(TrainConfig(preset="small", resolution=64, channels=3).model_spec())
    assert [D.blocks[n][0].out_channels for n in D.blocks] == [64, 128, 256, 512, 1]
    # at 256 pixels widths stop doubling at 8x the base
    wide = Generator(ModelSpec(resolution=256, g_width=64))
    assert [wide.blocks[n][0].out_channels for n in wide.blocks] == [512, 512, 512, 256, 128, 64, 3]


def test_initialisation_statistics():
    torch.manual_seed(0)
    G = Generator(ModelSpec(resolution=64, g_width=64))
    weights = torch.cat([m.weight.flatten() for m in layers(G, nn.ConvTranspose2d)])
    assert abs(weights.mean().item()) < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    bn_scale = torch.cat([m.weight for m in layers(G, nn.BatchNorm2d)])
    assert bn_scale.mean().item() == pytest.approx(1.0, abs=0.005)
    assert bn_scale.std().item() == pytest.approx(0.02, rel=0.15)
    assert all((m.bias == 0).all() for m in layers(G, nn.BatchNorm2d))
    assert all(m.bias is None for m in layers(G, nn.ConvTranspose2d))  # BatchNorm's shift makes conv biases redundant


def test_features_give_every_block_from_one_pass():
    spec = ModelSpec(resolution=32, channels=3, nz=8, g_width=4, d_width=4)
    G, D = Generator(spec).eval(), Discriminator(spec).eval()
    z = torch.randn(2, 8)
    feats = G.features(z)
    assert list(feats) == list(G.blocks)
    assert [tuple(f.shape[1:]) for f in feats.values()] == [(16, 4, 4), (8, 8, 8), (4, 16, 16), (3, 32, 32)]
    assert torch.equal(feats["to_image"], G(z))
    d_feats = D.features(feats["to_image"])
    assert [tuple(f.shape[1:]) for f in d_feats.values()] == [(4, 16, 16), (8, 8, 8), (16, 4, 4), ()]
    assert torch.equal(d_feats["logit"], D(G(z)))
    assert list(D.features(G(z), upto="down2")) == ["down1", "down2"]
    with pytest.raises(DCGANError, match="no layer named 'down9'"):
        D.features(G(z), upto="down9")


@pytest.mark.parametrize("resolution", [8, 48, 512])
def test_bad_resolution_is_refused(resolution):
    with pytest.raises(DCGANError, match="power of two"):
        ModelSpec(resolution=resolution)
    with pytest.raises(DCGANError, match="power of two"):
        TrainConfig(resolution=resolution)


def test_bad_channels_are_refused():
    with pytest.raises(DCGANError, match="channels must be 1 or 3"):
        ModelSpec(channels=4)
