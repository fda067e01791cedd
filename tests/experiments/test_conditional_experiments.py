"""Every experiment's entry point on a class-conditional G (and D): each image is G(z, label) for the one label given,
checked against G called with that label directly; a conditional G without a label, or an unconditional one with
one, is a clear error."""

import numpy as np
import pytest
import torch

from conftest import blobs
from dcgan import DCGANError, Discriminator, Generator, ModelSpec
from dcgan.core.features import pool_and_concat
from dcgan.core.images import make_grid, to_uint8_tensor, to_unit_range
from dcgan.core.sampling import generate, sample_noise, seeded
from dcgan.experiments.arithmetic import arithmetic_experiment
from dcgan.experiments.direction import direction_experiment
from dcgan.experiments.forgetting import forgetting_experiment
from dcgan.experiments.latent import arithmetic_figure, load_z_meta, path_through, save_z
from dcgan.experiments.memorisation import memorisation_check
from dcgan.experiments.walk import walk_experiment

SPEC = ModelSpec(resolution=16, channels=1, nz=8, g_width=8, d_width=8, num_classes=3)


@pytest.fixture
def nets():
    torch.manual_seed(0)
    return Generator(SPEC).eval(), Discriminator(SPEC).eval()


def drawn(G: Generator, z: torch.Tensor, label: int) -> torch.Tensor:
    """G(z, label) for every z: the reference, with no fixed-class network in between."""
    return generate(G, z, torch.full((len(z),), label))


class Labelled(torch.nn.Module):
    """A stand-in G of z alone that calls the conditional G with one label (eval mode, like the G it wraps)."""

    def __init__(self, G: Generator, label: int):
        super().__init__()
        self.G, self.label, self.spec = G, label, G.spec
        self.eval()

    def forward(self, z):
        return self.G(z, torch.full((len(z),), self.label))


def test_a_walk_draws_every_frame_at_the_given_class(nets, tmp_path):
    G, _ = nets
    points = torch.randn(3, 8)
    report = walk_experiment(G, points, steps=4, spherical=True, label=2)
    assert torch.equal(report.images, drawn(G, report.rows.flatten(0, 1), 2))
    assert torch.allclose(report.frames(), drawn(G, path_through(report.rows), 2), atol=1e-6)
    assert report.frames().shape[0] == 7  # two segments of 4, the shared point once
    assert not torch.allclose(report.images, walk_experiment(G, points, 4, True, label=0).images, atol=1e-3)
    assert load_z_meta(report.save_z(tmp_path / "walk.safetensors")) == {"spherical": True, "label": 2}


@pytest.fixture
def cells(tmp_path):
    path = save_z(tmp_path / "cells.safetensors", sample_noise(6, 8, "normal", seeded(1)))
    return {name: f"{path}#{i},{i + 1}" for name, i in (("A", 0), ("B", 2), ("C", 4))}


def test_arithmetic_draws_exemplars_and_outputs_at_the_given_class(nets, cells, tmp_path):
    G, _ = nets
    report = arithmetic_experiment(G, "normal", "A - B + C", cells, n=3, label=1)
    expected = arithmetic_figure(Labelled(G, 1), report.first)
    assert np.array_equal(np.asarray(report.figure), np.asarray(expected))
    other = arithmetic_experiment(G, "normal", "A - B + C", cells, n=3, label=0).figure
    assert not np.array_equal(np.asarray(report.figure), np.asarray(other))
    assert report.to_dict()["label"] == 1 and load_z_meta(report.save_z(tmp_path / "a.safetensors"))["label"] == 1


def test_a_direction_moves_samples_drawn_at_the_given_class(nets, cells):
    G, _ = nets
    report = direction_experiment(G, "normal", cells["A"], cells["B"], strengths=[-1, 0, 1], num=2, label=2)
    expected = make_grid(drawn(G, report.shown, 2), 3)[..., 0]  # one grey channel
    assert np.array_equal(np.asarray(report.figure), expected) and report.to_dict()["label"] == 2


def test_forgetting_draws_the_sheet_and_fresh_samples_at_the_given_class(nets):
    G, _ = nets
    z = sample_noise(4, 8, "normal", seeded(2))
    boxes = {0: [(0, 0, 8, 8)], 2: [(4, 4, 12, 12)]}
    result = forgetting_experiment(G, z, boxes, label=1)
    assert torch.equal(result.before, drawn(G, z[[0, 2]], 1))
    assert result.dropped and not torch.allclose(result.after, result.before)


def test_memorisation_draws_samples_and_reads_d_at_the_given_class(nets):
    G, D = nets
    data = blobs(60).images
    result = memorisation_check(G, D, data[:40], data[40:], samples=6, show=2, k=1, seed=3, label=2)
    generated = to_uint8_tensor(drawn(G, sample_noise(6, 8, "normal", seeded(3)), 2))
    assert torch.equal(result.samples, to_unit_range(generated[:2]))

    def features(images):  # D's last conv layer, pooled, every image read as class 2
        x = to_unit_range(images)
        return pool_and_concat([D.features(x, "down2", torch.full((len(x),), 2))["down2"]])

    with torch.no_grad():
        nearest = torch.cdist(features(generated), features(data[:40])).min(dim=1).values
    by_space = {d.space: d for d in result.distances}
    assert torch.allclose(by_space["D features"].generated, nearest, atol=1e-4)


def test_a_class_must_fit_the_generator(nets, cells):
    G, D = nets
    z = torch.randn(3, 8)
    with pytest.raises(DCGANError, match="class-conditional"):
        walk_experiment(G, z)
    with pytest.raises(DCGANError, match="no class 3 in a network of 3 classes"):
        arithmetic_experiment(G, "normal", "A", {"A": cells["A"]}, label=3)
    with pytest.raises(DCGANError, match="class-conditional"):
        direction_experiment(G, "normal", cells["A"], cells["B"])
    with pytest.raises(DCGANError, match="class-conditional"):
        forgetting_experiment(G, z, {0: [(0, 0, 8, 8)]})
    with pytest.raises(DCGANError, match="class-conditional"):
        memorisation_check(G, D, blobs(10).images, 2, samples=2, show=1)
    unconditional = Generator(ModelSpec(resolution=16, channels=1, nz=8, g_width=8))
    with pytest.raises(DCGANError, match="not class-conditional"):
        walk_experiment(unconditional, z, label=0)
