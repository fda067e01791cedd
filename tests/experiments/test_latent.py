"""Latent-space maths: walks, arithmetic, noise, directions, z files and sheets, on known z."""

import math
import re

import pytest
import torch
from PIL import Image

from dcgan import DCGANError, Generator, ModelSpec
from dcgan.core.sampling import render
from dcgan.experiments.latent import (
    along,
    arithmetic,
    around,
    direction,
    lerp,
    load_z,
    load_z_meta,
    parse_expression,
    path_through,
    pixel_arithmetic,
    save_sheet,
    save_z,
    slerp,
    vector_arithmetic,
    walk,
)
from dcgan.experiments.walk import walk_experiment, walk_smoothness


def test_slerp_hits_endpoints_and_stays_on_the_unit_sphere():
    a, b = torch.nn.functional.normalize(torch.randn(2, 50, dtype=torch.float64), dim=1)
    path = slerp(a, b, torch.linspace(0, 1, 11))
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b)
    assert torch.allclose(path.norm(dim=1), torch.ones(11, dtype=torch.float64))
    # equal angular steps along the great circle
    angles = torch.arccos((path[:-1] * path[1:]).sum(1).clamp(-1, 1))
    assert torch.allclose(angles, angles[0].expand(10))
    # a linear walk between the same points cuts inside the sphere
    assert lerp(a, b, torch.tensor([0.5]))[0].norm() < 0.99


def test_slerp_keeps_gaussian_norms_where_lerp_shrinks_them():
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 100, generator=gen)
    mid_s = slerp(a, b, torch.tensor([0.5]))[0].norm()
    mid_l = lerp(a, b, torch.tensor([0.5]))[0].norm()
    typical = math.sqrt(100)
    assert abs(mid_s - (a.norm() + b.norm()) / 2) < 1e-4
    assert abs(mid_l / typical - math.sqrt(0.5)) < 0.12  # about 0.71 of a typical norm


def test_slerp_falls_back_to_lerp_for_parallel_points():
    a = torch.tensor([1.0, 2.0, 3.0])
    assert torch.allclose(slerp(a, 2 * a, torch.tensor([0.5]))[0], 1.5 * a)


def test_walk_rows_join_and_path_keeps_each_point_once():
    points = torch.randn(4, 6)
    rows = walk(points, 5, spherical=True)
    assert rows.shape == (3, 5, 6)
    assert torch.allclose(rows[:, 0], points[:3], atol=1e-6) and torch.allclose(rows[:, -1], points[1:], atol=1e-6)
    path = path_through(rows)
    assert path.shape == (13, 6) and torch.allclose(path[4], points[1], atol=1e-6)
    linear = walk(points, 3, spherical=False)
    assert torch.allclose(linear[1, 1], (points[1] + points[2]) / 2)
    with pytest.raises(DCGANError, match=r"a walk needs at least 2 points, got \(1, 6\)"):
        walk(points[:1], 5)
    with pytest.raises(DCGANError, match="a walk needs at least 2 steps per segment, not 1"):
        walk(points, 1)


def test_expression_parsing_allows_spaces_and_hyphens_in_names():
    assert parse_expression("smiling woman - neutral woman + neutral man") == [
        (1, "smiling woman"),
        (-1, "neutral woman"),
        (1, "neutral man"),
    ]
    assert parse_expression("- x-ray + y") == [(-1, "x-ray"), (1, "y")]
    assert parse_expression("+ b") == [(1, "b")]
    for bad in ("a - ", "a + - b", "", "-"):
        with pytest.raises(DCGANError, match=f"cannot read the expression {re.escape(repr(bad))}"):
            parse_expression(bad)


def test_arithmetic_averages_each_concept_then_combines():
    concepts = {
        "A": torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]]),  # mean (2, 1)
        "B": torch.tensor([[0.0, 1.0]]),
        "C": torch.tensor([[1.0, 1.0], [1.0, 3.0]]),  # mean (1, 2)
    }
    assert torch.equal(arithmetic("A - B + C", concepts), torch.tensor([3.0, 2.0]))
    with pytest.raises(DCGANError, match="'D'"):
        arithmetic("A - D", concepts)


def test_concepts_sharing_an_exemplar_are_refused():
    a = torch.tensor([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]])
    with pytest.raises(DCGANError, match="'A' and 'B' share 3 of their exemplars") as err:
        arithmetic("A - B", {"A": a, "B": a.flip(0)})  # the same exemplars in another order still cancel
    assert "Smiling&Male and Smiling&!Male" in err.value.fix
    with pytest.raises(DCGANError, match="'B' and 'C' share 1"):
        arithmetic("A - B + C", {"A": a[:1], "B": a[1:], "C": torch.cat([a[2:], torch.ones(1, 2)])})
    with pytest.raises(DCGANError, match="'positive' and 'negative' share 1"):
        direction(a[:2], a[1:])
    assert torch.equal(arithmetic("A - B", {"A": a[:1], "B": a[1:2]}), torch.tensor([-2.0, 0.0]))


def test_noise_around_y_is_bounded_seeded_and_fills_the_box():
    y = torch.arange(4.0)
    first = around(y, 500, 0.25, torch.Generator().manual_seed(3))
    again = around(y, 500, 0.25, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    offset = first - y
    assert offset.abs().max() <= 0.25 and offset.abs().max() > 0.24 and abs(offset.mean()) < 0.02
    assert torch.equal(around(y, 3, 0.0), y.expand(3, 4))
    with pytest.raises(DCGANError, match=r"the noise scale must be 0 or more, not -1\.0"):
        around(y, 3, -1.0)


def test_vector_arithmetic_puts_y_first_then_its_noisy_neighbours():
    result = vector_arithmetic("A + B", {"A": torch.ones(3, 5), "B": torch.zeros(2, 5)}, n=8, scale=0.1, seed=0)
    assert result.outputs.shape == (9, 5) and torch.equal(result.outputs[0], torch.ones(5))
    assert (result.outputs[1:] - 1).abs().max() <= 0.1
    rows = result.figure_rows()
    assert [label for label, _ in rows] == ["+ A", "+ B", "= Y, Y+noise"]
    assert [len(z) for _, z in rows] == [4, 3, 9]  # exemplars and their mean, then outputs


def test_pixel_arithmetic_is_clipped_mean_image_arithmetic():
    images = {"A": torch.full((2, 1, 2, 2), 0.8), "B": torch.full((1, 1, 2, 2), -0.6)}
    assert torch.allclose(pixel_arithmetic("A - B", images), torch.ones(1, 2, 2))  # 1.4 clipped
    assert torch.allclose(pixel_arithmetic("A + B", images), torch.full((1, 2, 2), 0.2))


def test_direction_and_moving_along_it():
    pos, neg = torch.tensor([[2.0, 0.0], [4.0, 2.0]]), torch.tensor([[1.0, 1.0]])
    vector = direction(pos, neg)
    assert torch.equal(vector, torch.tensor([2.0, 0.0]))
    moved = along(torch.zeros(3, 2), vector, torch.tensor([-1.0, 0.0, 0.5]))
    assert moved.shape == (3, 3, 2)
    assert torch.equal(moved[2], torch.tensor([[-2.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))


def test_z_files_round_trip_and_cells_are_addressable(tmp_path):
    z = torch.randn(20, 7)
    path = save_z(tmp_path / "f.safetensors", z, {"extra": z[:2]}, note="x")
    assert torch.equal(load_z(path), z)
    assert path.stat().st_mode & 0o777 == 0o644  # shared like the images beside it, not 0600
    assert torch.equal(load_z(f"{path}#12"), z[12:13])
    assert torch.equal(load_z(f"{path}#0,1,2"), z[:3])
    assert torch.equal(load_z(f"{path}#3-5,19"), z[[3, 4, 5, 19]])
    for bad, message in ((f"{path}#20", "do not exist"), (f"{path}#a", "cannot read"), ("no.safetensors", "exist")):
        with pytest.raises(DCGANError, match=message):
            load_z(bad)
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(DCGANError, match="holds no z"):
        load_z(tmp_path / "junk.safetensors")


def test_sheet_round_trip_regenerates_the_same_cells(tmp_path):
    torch.manual_seed(0)
    G = Generator(ModelSpec(resolution=16, channels=3, nz=8, g_width=8)).eval()
    z = torch.randn(6, 8)
    images = render(G, z)
    save_sheet(images, z, tmp_path / "sheet.png", nrow=3)
    grid = Image.open(tmp_path / "sheet.png")
    assert grid.size == (2 + 3 * 18, 2 + 2 * 18)
    assert torch.equal(render(G, load_z(tmp_path / "sheet.safetensors#4")), images[4:5])
    # the numbers are drawn over the cells: the top-left pixels of cell 0 are the label's black box
    assert grid.getpixel((2, 2)) == (0, 0, 0)
    assert render(G, torch.zeros(2, 3, 8)).shape == (2, 3, 3, 16, 16)


def test_walk_experiment_draws_a_row_per_segment_and_keeps_its_z(tmp_path):
    torch.manual_seed(0)
    G = Generator(ModelSpec(resolution=16, channels=1, nz=8, g_width=8))
    points = torch.randn(3, 8)
    report = walk_experiment(G, points, steps=4, spherical=False)
    assert torch.equal(report.rows, walk(points, 4, spherical=False)) and report.rows.shape == (2, 4, 8)
    assert torch.equal(report.images, render(G, report.rows.flatten(0, 1)))
    assert report.figure().size == (2 + 4 * 18, 2 + 2 * 18)
    path = report.save_z(tmp_path / "walk.safetensors")
    assert torch.equal(load_z(path), report.rows.flatten(0, 1)) and load_z_meta(path) == {"spherical": False}


class Memoriser(torch.nn.Module):
    """A 'generator' that draws, for each z, the stored image whose key is nearest: what a G that copied its
    training set would do."""

    def __init__(self, bank: torch.Tensor, nz: int = 8):
        super().__init__()
        self.spec = ModelSpec(resolution=bank.shape[-1], channels=bank.shape[1], nz=nz)
        self.register_buffer("bank", bank.float() / 127.5 - 1)
        self.keys = torch.nn.Parameter(torch.randn(len(bank), nz, generator=torch.Generator().manual_seed(4)))

    def forward(self, z, labels=None):
        return self.bank[torch.cdist(z.flatten(1), self.keys).argmin(dim=1)]


def test_walk_smoothness_tells_a_smooth_generator_from_one_that_jumps_between_copies():
    torch.manual_seed(0)
    bank = torch.randint(0, 256, (80, 1, 16, 16), dtype=torch.uint8)
    smooth = walk_smoothness(Generator(ModelSpec(resolution=16, channels=1, nz=8, g_width=8)), bank, walks=6)
    jumps = walk_smoothness(Memoriser(bank), bank, walks=6)
    assert smooth.walk_steps.shape == smooth.real_steps.shape == (6, 8 * 7)  # 9 points, 8 frames a segment
    s, j = smooth.summary()["walks through z"], jumps.summary()["walks through z"]
    assert s["largest_over_real_mean"] < 0.3 and j["largest_over_real_mean"] > 0.8
    real = smooth.summary()["real images, random order"]
    assert real["mean_step"] == pytest.approx(float(smooth.real_steps.mean()))
    assert real["largest_over_real_mean"] == pytest.approx(real["largest_step"] / real["mean_step"])
    assert smooth.table().rows[0][0] == "walks through z" and smooth.to_dict()["walks"] == 6
    with pytest.raises(DCGANError, match="56 real images are too few for sequences of 57 frames"):
        walk_smoothness(Memoriser(bank), bank[:56], walks=1)
