"""Memorisation check: exact nearest neighbours against brute force, the summary numbers, the whole check."""

import numpy as np
import pytest
import torch

from conftest import blobs
from dcgan import DCGANError
from dcgan.core.models import Discriminator, Generator, ModelSpec
from dcgan.experiments.features import pixel_extractor
from dcgan.experiments.memorisation import (
    ImageFeatures,
    NearestDistances,
    distance_plot,
    memorisation_check,
    nearest,
    split_held_out,
)


@pytest.mark.parametrize("chunk", [7, 64, 5000])
def test_nearest_matches_brute_force(chunk):
    g = torch.Generator().manual_seed(0)
    refs = torch.randn(500, 30, generator=g)
    queries = torch.cat([torch.randn(40, 30, generator=g), refs[[3, 250]]])  # two exact copies
    d, i = nearest(queries, refs, k=3, chunk=chunk)
    brute = torch.cdist(queries.double(), refs.double(), compute_mode="donot_use_mm_for_euclid_dist")
    want_d, want_i = brute.topk(3, dim=1, largest=False)
    assert torch.equal(i, want_i)
    assert torch.allclose(d.double(), want_d, atol=1e-5)
    assert i[-2, 0] == 3 and i[-1, 0] == 250 and d[-2:, 0].max() == 0


def test_nearest_reads_memory_maps_and_images(tmp_path):
    refs = np.lib.format.open_memmap(tmp_path / "r.npy", mode="w+", dtype=np.float32, shape=(100, 2, 3, 3))
    refs[:] = np.random.default_rng(0).normal(size=refs.shape)
    d, i = nearest(torch.from_numpy(np.array(refs[[10, 20]])), refs, chunk=16)
    assert i[:, 0].tolist() == [10, 20] and d.shape == (2, 1)


def test_nearest_through_features_extracted_chunk_by_chunk_of_selected_rows():
    """ImageFeatures (what the check searches: a chunk's features at a time, of some rows only) finds what a search
    of the whole feature array of those rows finds."""
    images = torch.randint(0, 256, (300, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    rows = torch.arange(0, 300, 3)
    extractor = pixel_extractor(8, 1)
    queries = extractor.fn(images[[1, 2, 30]])  # rows 1 and 2 are outside the selection, row 30 in it
    d, i = nearest(queries, ImageFeatures(extractor, images, rows), k=2, chunk=16)
    want_d, want_i = nearest(queries, extractor.fn(images[rows]), k=2)
    assert torch.equal(i, want_i) and torch.allclose(d, want_d) and rows[i[2, 0]] == 30


def test_split_held_out_is_disjoint_and_seeded():
    held, rest = split_held_out(20, 5, seed=3)
    assert len(held) == 5 and sorted(torch.cat([held, rest]).tolist()) == list(range(20))
    assert torch.equal(held, split_held_out(20, 5, seed=3)[0])
    with pytest.raises(DCGANError, match="cannot hold out"):
        split_held_out(20, 20)


def test_summary_tells_a_copier_from_a_fresh_sampler():
    held_out = torch.linspace(1, 2, 101)
    copier = NearestDistances("pixels", torch.zeros(50), held_out).summary()
    fresh = NearestDistances("pixels", torch.linspace(1.2, 2.2, 51), held_out).summary()
    assert copier["median_ratio"] == 0 and copier["closer_than_p1"] == 1
    assert fresh["median_ratio"] == pytest.approx(1.7 / 1.5) and fresh["closer_than_p1"] == 0


def test_check_end_to_end(tmp_path):
    torch.manual_seed(0)
    spec = ModelSpec(resolution=16, channels=1, nz=8, g_width=8, d_width=8)
    data = blobs(120).images
    result = memorisation_check(Generator(spec), Discriminator(spec), data[:100], data[100:], samples=12, show=4, k=2)
    summary = result.summary()
    assert set(summary) == {"pixels", "D features"}
    assert summary["pixels"]["generated"] == 12 and summary["pixels"]["held_out"] == 20
    assert result.neighbours["pixels"].shape == (4, 2, 1, 16, 16)
    assert result.montage().size[1] == 2 + 4 * 18
    distance_plot(result.distances, tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 0
    with pytest.raises(DCGANError, match="no more samples shown than drawn"):
        memorisation_check(Generator(spec), Discriminator(spec), data, data, samples=2, show=3)


def test_a_count_holds_out_that_many_training_images_without_copying_the_rest(tmp_path):
    """memorisation_check(training, 20) is the check against 20 random training images left out of the reference
    set, selected rather than copied: the same numbers and neighbours as with the two sets given apart."""
    spec = ModelSpec(resolution=16, channels=1, nz=8, g_width=8, d_width=8)
    torch.manual_seed(0)
    G, D, data = Generator(spec), Discriminator(spec), blobs(120).images
    result = memorisation_check(G, D, data, 20, samples=12, show=4, k=2, seed=3)
    held, rest = split_held_out(120, 20, 3)
    apart = memorisation_check(G, D, data[rest], data[held], samples=12, show=4, k=2, seed=3)
    assert result.references == apart.references == 100
    assert result.to_dict() == apart.to_dict() == result.summary()
    assert all(torch.equal(result.neighbours[space], apart.neighbours[space]) for space in result.neighbours)
    table = result.table()
    assert table.columns[0] == "space" and [row[0] for row in table.rows] == ["pixels", "D features"]
    assert table.rows[0][3] == f"{result.summary()['pixels']['median_ratio']:.2f}"
    assert result.plot_distances(tmp_path / "d.png").stat().st_size > 0
