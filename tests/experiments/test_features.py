"""Feature extraction: the dimension formula, 4x4 max pooling, memmaps, the K-means baseline."""

import numpy as np
import pytest
import torch

from conftest import blobs
from dcgan import DCGANError, Discriminator, ModelSpec
from dcgan.experiments.features import (
    _quadrant_sum,
    conv_layers,
    discriminator_extractor,
    extract,
    feature_dim,
    kmeans_extractor,
    pixel_extractor,
    pool_and_concat,
    random_discriminator,
)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.mark.parametrize(
    ("spec", "layers", "expected"),
    [
        (ModelSpec(resolution=16, channels=1, d_width=8), None, 16 * (8 + 16)),
        (ModelSpec(resolution=32, channels=3, d_width=64), None, 16 * (64 + 128 + 256)),  # 'small' at 32x32: 7,168
        (ModelSpec(resolution=64, channels=3, d_width=4), ["down1", "down4"], 16 * (4 + 32)),
        (ModelSpec(resolution=128, channels=3, d_width=2), None, 16 * (2 + 4 + 8 + 16 + 16)),  # width cap at 8x
    ],
)
def test_feature_dim_formula_matches_the_extracted_features(spec, layers, expected):
    assert feature_dim(spec, layers) == expected
    D = random_discriminator(spec)
    images = torch.randint(0, 256, (3, spec.channels, spec.resolution, spec.resolution), dtype=torch.uint8)
    assert extract(discriminator_extractor(D, layers), images, progress=False).shape == (3, expected)


def test_the_papers_28672_dimensions_are_the_last_three_layers_of_the_paper_preset():
    spec = ModelSpec(resolution=64, channels=3, d_width=128)
    assert conv_layers(Discriminator(spec)) == ["down1", "down2", "down3", "down4"]
    assert feature_dim(spec, ["down2", "down3", "down4"]) == 28_672
    assert feature_dim(spec) == 30_720


def test_pooling_takes_the_max_of_each_cell_and_concatenates_in_order():
    a = torch.arange(64.0).reshape(1, 1, 8, 8)  # max of each 2x2 cell is its bottom-right value
    b = -torch.arange(32.0).reshape(1, 2, 4, 4)  # already 4x4: unchanged
    c = torch.tensor([[[[1.0, 5.0], [3.0, 2.0]]]])  # smaller than the grid: pooled to its own size
    out = pool_and_concat([a, b, c])
    expected_a = torch.tensor([[9, 11, 13, 15], [25, 27, 29, 31], [41, 43, 45, 47], [57, 59, 61, 63]]).flatten()
    assert out.shape == (1, 16 + 32 + 4)
    assert torch.equal(out[0, :16], expected_a.float())
    assert torch.equal(out[0, 16:48], b.flatten())
    assert torch.equal(out[0, 48:], torch.tensor([1.0, 5.0, 3.0, 2.0]))
    odd = torch.zeros(1, 1, 6, 6)
    odd[0, 0, 5, 5] = 7.0  # adaptive cells overlap on 6x6; the corner lands only in the last cell
    assert torch.equal(pool_and_concat([odd]).flatten().nonzero().flatten(), torch.tensor([15]))


def test_extract_writes_a_float32_memmap_equal_to_in_memory_extraction(tmp_path):
    D = random_discriminator(ModelSpec(resolution=16, channels=1, d_width=8), seed=3)
    images = blobs(50).images
    extractor = discriminator_extractor(D, ["down2"])
    in_memory = extract(extractor, images, batch_size=50, progress=False)
    on_disk = extract(extractor, images, tmp_path / "f.npy", batch_size=7, progress=False)
    loaded = np.load(tmp_path / "f.npy", mmap_mode="r")
    assert loaded.dtype == np.float32 and loaded.shape == (50, 256)
    np.testing.assert_allclose(loaded, in_memory, atol=1e-6)
    np.testing.assert_array_equal(on_disk, loaded)
    assert np.abs(in_memory).sum() > 0


def test_random_discriminator_is_seeded_and_leaves_the_global_rng_alone():
    spec = ModelSpec(resolution=16, channels=1, d_width=8)
    before = torch.random.get_rng_state()
    a, b, c = random_discriminator(spec, 1), random_discriminator(spec, 1), random_discriminator(spec, 2)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(a.blocks["down1"][0].weight, b.blocks["down1"][0].weight)
    assert not torch.equal(a.blocks["down1"][0].weight, c.blocks["down1"][0].weight)


def test_bad_layers_and_mismatched_images_are_clear_errors():
    D = random_discriminator(ModelSpec(resolution=16, channels=1, d_width=8))
    with pytest.raises(DCGANError, match="choose from down1, down2"):
        discriminator_extractor(D, ["logit"])
    with pytest.raises(DCGANError, match="expects images with 1 channels at 16x16"):
        extract(discriminator_extractor(D), torch.zeros(2, 3, 16, 16, dtype=torch.uint8), progress=False)


def test_pixels_are_the_images_in_unit_range():
    images = torch.tensor([[[[0, 255], [51, 204]]]], dtype=torch.uint8)
    feats = extract(pixel_extractor(2, 1), images, progress=False)
    np.testing.assert_allclose(feats, [[-1.0, 1.0, -0.6, 0.6]], atol=1e-6)


def test_quadrant_sum_pooling():
    maps = torch.arange(25.0).reshape(1, 1, 5, 5)  # quadrants split after row/column 3 (the larger half first)
    grid = maps[0, 0]
    expected = [grid[:3, :3].sum(), grid[:3, 3:].sum(), grid[3:, :3].sum(), grid[3:, 3:].sum()]
    assert torch.equal(_quadrant_sum(maps)[0], torch.stack(expected))
    assert _quadrant_sum(maps).sum() == grid.sum()


def test_kmeans_features_are_seeded_sparse_and_4k_long():
    images = blobs(40, resolution=16).images
    extractor = kmeans_extractor(images, k=8, num_patches=2000, seed=0)
    feats = extract(extractor, images, progress=False)
    assert extractor.dim == 32 and feats.shape == (40, 32)
    assert (feats >= 0).all() and (feats == 0).any() and feats.sum() > 0  # triangle activation: max(0, mean - z)
    again = extract(kmeans_extractor(images, k=8, num_patches=2000, seed=0), images, progress=False)
    np.testing.assert_allclose(feats, again, rtol=1e-5)
    with pytest.raises(DCGANError, match="smaller than the 6x6"):
        kmeans_extractor(torch.zeros(4, 1, 4, 4, dtype=torch.uint8))
