"""Image tensors: the exact uint8 <-> [-1, 1] conversions."""

import numpy as np
import pytest
import torch

from dcgan.core.images import cell_origin, numbered_grid, to_uint8, to_unit_range


def test_scaling_to_unit_range_is_exact():
    x = torch.tensor([0, 127, 128, 255], dtype=torch.uint8)
    assert to_unit_range(x).tolist() == pytest.approx([-1.0, 127 / 127.5 - 1, 128 / 127.5 - 1, 1.0], abs=1e-6)


def test_uint8_survives_the_round_trip_through_unit_range_exactly():
    gen = torch.Generator().manual_seed(0)
    # two images of three channels, each channel every value 0..255 once, in its own order
    x = torch.stack([torch.randperm(256, generator=gen) for _ in range(6)]).to(torch.uint8).reshape(2, 3, 16, 16)
    out = to_uint8(to_unit_range(x))
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (2, 16, 16, 3)
    assert np.array_equal(out, x.permute(0, 2, 3, 1).numpy())
    # values outside [-1, 1] clip to black and white
    assert to_uint8(torch.tensor([-3.0, -1.0, 1.0, 2.0]).reshape(1, 1, 2, 2)).ravel().tolist() == [0, 0, 255, 255]


@pytest.mark.parametrize("side, at_most", [(32, 0.08), (64, 0.08)])
def test_sheet_numbers_stay_small_in_the_cell_corner(side, at_most):
    images = torch.zeros(64, 3, side, side)  # mid grey: the label box is what is not grey
    grid = np.asarray(numbered_grid(images, nrow=8)).astype(int)
    x, y = cell_origin(63, 8, side, side)
    cell = grid[y : y + side, x : x + side]
    covered = (np.abs(cell - 128).max(-1) > 60).mean()  # the black box and yellow digits of "63"
    assert 0.01 < covered < at_most
    rows, cols = np.nonzero(np.abs(cell - 128).max(-1) > 60)
    assert rows.max() < side // 3 and cols.max() < side // 2  # in the top-left corner
    assert (cell[:, :, 2] < 60).any()  # the box is there
