"""The class-conditional networks: the label enters every block; without it the networks are the paper's, unchanged."""

import pytest
import torch

from dcgan import DCGANError, Discriminator, Generator, ModelSpec
from dcgan.core.sampling import OneClass, at_class, class_index, class_rows, generate, render

SPEC = ModelSpec(resolution=16, channels=1, nz=8, g_width=4, d_width=4)


def first_conv_shapes(net) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items() if k.endswith("0.weight")}


def test_unconditional_networks_are_those_of_the_commit_before():
    """Outputs recorded from the networks before conditioning existed: the same init and forward, to the bit."""
    torch.manual_seed(0)
    G, D = Generator(SPEC), Discriminator(SPEC)
    x = G(torch.randn(4, 8, generator=torch.Generator().manual_seed(1)))
    expected_row = [-0.03598794341087341, -0.040914613753557205, -0.00810985453426838, -0.02983020432293415]
    assert x[0, 0, 5, 3:7].tolist() == pytest.approx(expected_row, abs=1e-6)
    assert x.abs().sum().item() == pytest.approx(36.96721649169922, rel=1e-5)
    expected_logits = [0.007305103354156017, -0.0005875671631656587, 0.029909241944551468, 0.008100870065391064]
    assert D(x).tolist() == pytest.approx(expected_logits, abs=1e-6)
    assert first_conv_shapes(G) == {
        "blocks.project.0.weight": (8, 8, 4, 4),
        "blocks.up1.0.weight": (8, 4, 4, 4),
        "blocks.to_image.0.weight": (4, 1, 4, 4),
    }


def test_conditional_networks_take_the_label_in_every_block():
    spec = ModelSpec(**{**SPEC.to_dict(), "num_classes": 3})
    G, D = Generator(spec), Discriminator(spec)
    assert sorted(G.state_dict()) == sorted(Generator(SPEC).state_dict())  # same names, K more input channels
    assert first_conv_shapes(G) == {
        "blocks.project.0.weight": (8 + 3, 8, 4, 4),
        "blocks.up1.0.weight": (8 + 3, 4, 4, 4),
        "blocks.to_image.0.weight": (4 + 3, 1, 4, 4),
    }
    assert first_conv_shapes(D) == {
        "blocks.down1.0.weight": (4, 1 + 3, 4, 4),
        "blocks.down2.0.weight": (8, 4 + 3, 4, 4),
        "blocks.logit.0.weight": (1, 8 + 3, 4, 4),
    }
    G.eval(), D.eval()
    z = torch.randn(1, 8).repeat(3, 1)  # one z, three labels
    images = G(z, torch.tensor([0, 1, 2]))
    assert images.shape == (3, 1, 16, 16)
    assert (images[0] - images[1]).abs().max() > 1e-3 and (images[1] - images[2]).abs().max() > 1e-3
    same = images[:1].repeat(3, 1, 1, 1)
    logits = D(same, torch.tensor([0, 1, 2]))
    assert logits.shape == (3,) and len(set(logits.tolist())) == 3
    feats = D.features(same, labels=torch.tensor([0, 1, 2]))
    assert torch.equal(feats["logit"], logits)
    assert torch.allclose(generate(G, z, torch.tensor([0, 1, 2]), batch_size=2), images, atol=1e-6)


def test_labels_must_match_the_network():
    conditional = Generator(ModelSpec(**{**SPEC.to_dict(), "num_classes": 2}))
    with pytest.raises(DCGANError, match="class-conditional and needs labels"):
        conditional(torch.randn(2, 8))
    with pytest.raises(DCGANError, match="takes no labels"):
        Discriminator(SPEC)(torch.randn(2, 1, 16, 16), torch.tensor([0, 1]))
    with pytest.raises(DCGANError, match="num_classes must be 0"):
        ModelSpec(num_classes=1)


def test_classes_by_name_or_index_and_rows_per_class():
    names = ["airplane", "cat", "dog"]
    assert class_index("cat", names) == 1 and class_index("2", names) == 2 and class_index(0, names) == 0
    with pytest.raises(DCGANError, match=r"(?s)no class .horse.*one of airplane, cat, dog"):
        class_index("horse", names)
    with pytest.raises(DCGANError, match="no class '3'"):
        class_index("3", names)
    with pytest.raises(DCGANError, match="not class-conditional"):
        class_index("1", [])
    assert class_index("1", ["1", "2"]) == 0  # a name wins over an index
    assert class_rows(6, 3).tolist() == [0, 0, 1, 1, 2, 2]
    assert class_rows(100, 10).reshape(10, 10).tolist() == [[k] * 10 for k in range(10)]


def test_a_network_at_one_class_is_the_network_given_that_label_for_every_image():
    spec = ModelSpec(**{**SPEC.to_dict(), "num_classes": 3})
    G, D = Generator(spec).eval(), Discriminator(spec).eval()
    z, images = torch.randn(5, 8), torch.rand(5, 1, 16, 16) * 2 - 1
    for label in range(3):
        labels = torch.full((5,), label)
        fixed_g, fixed_d = at_class(G, label), at_class(D, label)
        assert isinstance(fixed_g, OneClass) and fixed_g.spec == spec and fixed_g.blocks is G.blocks
        assert torch.equal(fixed_g(z), G(z, labels)) and torch.equal(render(fixed_g, z[None])[0], G(z, labels))
        assert torch.equal(fixed_g.features(z, upto="up1")["up1"], G.features(z, "up1", labels)["up1"])
        assert torch.equal(fixed_d(images), D(images, labels))
        assert torch.equal(fixed_d.features(images)["down2"], D.features(images, labels=labels)["down2"])
    assert not torch.equal(at_class(G, 0)(z), at_class(G, 1)(z))
    assert at_class(at_class(G, 2), None)(z).equal(G(z, torch.full((5,), 2)))  # a fixed class stays fixed
    unconditional = Generator(SPEC)
    assert at_class(unconditional, None) is unconditional


def test_a_class_must_fit_the_network():
    conditional = Generator(ModelSpec(**{**SPEC.to_dict(), "num_classes": 3}))
    with pytest.raises(DCGANError, match=r"class-conditional \(3 classes\) and draws one class at a time"):
        at_class(conditional, None)
    with pytest.raises(DCGANError, match="no class 3 in a network of 3 classes"):
        at_class(conditional, 3)
    with pytest.raises(DCGANError, match="not class-conditional"):
        at_class(Generator(SPEC), 0)
    with pytest.raises(DCGANError, match="its class is fixed already"):
        at_class(at_class(conditional, 1), 2)
