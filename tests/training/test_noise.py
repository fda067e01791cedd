"""--noise uniform (the original Theano code's z ~ U[-1, 1]) end to end, from the command line: training draws
it, a resume continues it bit for bit, and sample and interpolate draw their z from it."""

import json

import pytest
import torch
from PIL import Image
from safetensors import safe_open

import dcgan.training.loop
from conftest import blobs
from dcgan import load_checkpoint, load_generator
from dcgan.cli import main
from dcgan.core.images import save_grid
from dcgan.core.sampling import generate
from dcgan.training.step import train_step

TINY = ["--g-width", "8", "--d-width", "8", "--nz", "16", "--batch-size", "32", "--sample-count", "16"]
TINY += ["--no-progress", "--no-cache", "--precision", "fp32", "--noise", "uniform"]


def uniform(n: int, seed: int) -> torch.Tensor:
    """What ``--seed seed`` means for uniform z: U[-1, 1] from a torch generator seeded with it."""
    return torch.rand(n, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def recording(into: list):
    """The training step, keeping the z of every step in ``into``."""

    def step(*args, **kwargs):
        into.append(args[5].clone())  # train_step(G, D, opt_g, opt_d, real, z, ...)
        return train_step(*args, **kwargs)

    return step


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same uniform-noise run straight (2 epochs of 2 steps), and stopped after epoch 1 then resumed; with the z
    every step of each drew."""
    root = tmp_path_factory.mktemp("uniform")
    (root / "data").mkdir()
    for i, image in enumerate(blobs(64).images):
        Image.fromarray(image[0].numpy()).save(root / "data" / f"{i:02d}.png")
    drawn = {"straight": [], "resumed": []}
    with pytest.MonkeyPatch.context() as patch:
        for name, lengths in (("straight", [2]), ("resumed", [1, 2])):
            patch.setattr(dcgan.training.loop, "train_step", recording(drawn[name]))
            run = root / name
            train = ["train", "--data", str(root / "data"), "--resolution", "16", *TINY, "--out", str(run)]
            assert main([*train, "--epochs", str(lengths[0])]) == 0
            for epochs in lengths[1:]:
                assert main(["train", "--resume", str(run), "--epochs", str(epochs), "--no-progress"]) == 0
    return root, drawn


def test_training_draws_uniform_z_and_a_resume_continues_it_bit_for_bit(runs):
    root, drawn = runs
    z = torch.stack(drawn["straight"])
    assert z.shape == (4, 32, 16) and z.min() >= -1 and z.max() <= 1
    # U[-1, 1]: mean 0, standard deviation 1/sqrt(3) = 0.577 (N(0, 1) would give 1, and 2/3 of it inside [-1, 1])
    assert abs(z.mean()) < 0.05 and z.std() == pytest.approx(3**-0.5, abs=0.02) and z.abs().max() > 0.99
    straight, resumed = load_checkpoint(root / "straight"), load_checkpoint(root / "resumed")
    assert straight.noise == resumed.noise == "uniform"
    assert straight.tensors["fixed_noise"].abs().max() <= 1  # the grids' z too
    assert torch.equal(torch.stack(drawn["resumed"]), z)  # the resume drew the same z after its restart
    assert straight.tensors.keys() == resumed.tensors.keys()
    assert all(torch.equal(straight.tensors[name], resumed.tensors[name]) for name in straight.tensors)
    lines = [(root / run / "metrics.jsonl").read_text().splitlines() for run in ("straight", "resumed")]
    assert lines[0] == lines[1] and len(lines[0]) == 4


def test_sample_draws_uniform_z(runs, tmp_path):
    run = runs[0] / "straight"
    assert main(["sample", "--checkpoint", str(run), "-n", "6", "--seed", "3", "-o", str(tmp_path / "grid.png")]) == 0
    G = load_generator(run)
    expected = save_grid(generate(G, uniform(6, 3)), tmp_path / "expected.png")
    assert (tmp_path / "grid.png").read_bytes() == expected.read_bytes()
    normal = save_grid(generate(G, torch.randn(6, 16, generator=torch.Generator().manual_seed(3))), tmp_path / "n.png")
    assert normal.read_bytes() != expected.read_bytes()


def test_interpolate_walks_straight_lines_between_uniform_points(runs, tmp_path):
    run, walk = runs[0] / "straight", tmp_path / "walk.png"
    args = ["interpolate", "--checkpoint", str(run), "--points", "3", "--steps", "4", "--seed", "5", "-o", str(walk)]
    assert main(args) == 0
    with safe_open(walk.with_suffix(".safetensors"), "pt") as written:
        points, z = written.get_tensor("points"), written.get_tensor("z")
        meta = json.loads(written.metadata()["dcgan-latent"])
    assert torch.equal(points, uniform(3, 5)) and meta["spherical"] is False  # straight lines for a cube's points
    t = torch.tensor([0, 1 / 3, 2 / 3, 1]).view(4, 1)
    expected = torch.cat([(1 - t) * points[i] + t * points[i + 1] for i in range(2)])
    torch.testing.assert_close(z, expected, rtol=0, atol=1e-6)
    images = save_grid(generate(load_generator(run), z), tmp_path / "expected.png", nrow=4)
    assert walk.read_bytes() == images.read_bytes()
