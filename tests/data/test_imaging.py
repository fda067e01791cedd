"""One image to the training size: the centred crop and resample, odd modes and sizes, decompression bombs."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import png_bytes
from dcgan import DCGANError, load_dataset
from dcgan.data.imaging import auto_resolution, fit_image, points_in_crop


def test_centre_crop_and_resize():
    # a 40x20 image: left quarter black, middle half white, right quarter black;
    # the centred 20x20 square is the white middle
    arr = np.zeros((20, 40), dtype=np.uint8)
    arr[:, 10:30] = 255
    out = fit_image(Image.fromarray(arr), 16, 1)
    # (bicubic weights reach one source pixel past the crop box, so edge columns dim slightly)
    assert out.shape == (1, 16, 16) and out[..., 1:-1].min() == 255 and out.min() > 240
    tall = fit_image(Image.fromarray(arr.T.copy()), 16, 3)
    assert tall.shape == (3, 16, 16) and tall[:, 1:-1].min() == 255 and tall.min() > 240
    assert auto_resolution(28, 28) == 32 and auto_resolution(89, 109) == 64 and auto_resolution(10, 10) == 16


@pytest.mark.parametrize(("size", "crop_scale"), [((178, 218), 108 / 178), ((89, 109), 108 / 178), ((60, 40), 1.0)])
def test_points_in_crop_land_where_fit_image_puts_their_pixels(size, crop_scale):
    """A bright dot at pixel (x, y) comes out of fit_image centred at points_in_crop's fraction of the side."""
    w, h = size
    for x, y in [(w // 2, h // 2), (w // 3, h // 2 + 3), (w // 2 + 5, h // 3 + 2)]:
        arr = np.zeros((h, w), dtype=np.uint8)
        arr[y - 1 : y + 2, x - 1 : x + 2] = 255  # 3x3, centred on pixel (x, y)
        out = fit_image(Image.fromarray(arr), 64, 1, crop_scale)[0].astype(np.float64)
        rows, cols = np.mgrid[:64, :64]
        centroid = np.array([(out * cols).sum(), (out * rows).sum()]) / out.sum()  # in output pixel indices
        fraction = points_in_crop(np.array([x, y]), w, h, crop_scale)
        assert fraction.dtype == np.float32
        assert np.abs(fraction * 64 - 0.5 - centroid).max() < 0.1, (x, y, fraction * 64 - 0.5, centroid)
    # the same point of a half-size copy (pixel p there is 2p + 0.5 here) gets the same fraction: the crop scales
    half = points_in_crop(np.array([[10.0, 20.0]]), 89, 109, 108 / 178)
    assert np.allclose(points_in_crop(np.array([[20.5, 40.5]]), 178, 218, 108 / 178), half)
    # outside the crop: kept, not clipped (the 108-px crop of 178x218 starts at x = 35, y = 55)
    assert np.allclose(points_in_crop(np.array([0, 0]), 178, 218, 108 / 178), [(0.5 - 35) / 108, (0.5 - 55) / 108])


def _save(folder, name, img, **kw):
    folder.mkdir(parents=True, exist_ok=True)
    img.save(folder / name, **kw)


def test_odd_modes_give_the_expected_pixels(tmp_path):
    red = (200, 30, 40)
    _save(tmp_path, "01-l.png", Image.new("L", (8, 8), 77))
    la = Image.new("LA", (8, 8), (0, 0))  # fully transparent: composited on white
    _save(tmp_path, "02-la.png", la)
    p = Image.new("P", (8, 8), 3)
    p.putpalette([0, 0, 0] * 3 + list(red) + [0, 0, 0] * 252)
    _save(tmp_path, "03-p.png", p)
    _save(tmp_path, "04-rgba.png", Image.new("RGBA", (8, 8), (*red, 255)))
    _save(tmp_path, "05-half.png", Image.new("RGBA", (8, 8), (0, 0, 0, 128)))  # half black over white
    _save(tmp_path, "06-cmyk.jpg", Image.new("RGB", (8, 8), red).convert("CMYK"), quality=100)
    _save(tmp_path, "07-i16.png", Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16)))
    _save(tmp_path, "08-i16mid.png", Image.fromarray(np.full((8, 8), 32896, dtype=np.uint16)))
    _save(tmp_path, "09-bilevel.png", Image.new("1", (8, 8), 1))
    _save(tmp_path, "10-ptransparent.gif", Image.new("P", (8, 8), 0), transparency=0)
    data = load_dataset(tmp_path, resolution=16, channels=3)
    centre = data.images[:, :, 8, 8].tolist()
    assert centre[0] == [77] * 3 and centre[1] == [255] * 3 and centre[2] == list(red) and centre[3] == list(red)
    assert all(abs(c - 127) <= 1 for c in centre[4])
    assert np.abs(np.array(centre[5]) - red).max() <= 3  # CMYK JPEG, lossy
    assert centre[6] == [255] * 3 and centre[7] == [128] * 3 and centre[8] == [255] * 3 and centre[9] == [255] * 3
    grey = load_dataset(tmp_path, resolution=16, channels=1)
    assert grey.images.shape == (10, 1, 16, 16) and grey.images[0, 0, 8, 8] == 77


def test_odd_sizes(tmp_path):
    arr = np.zeros((3, 300), dtype=np.uint8)
    arr[:, 149:151] = 255
    _save(tmp_path, "wide.png", Image.fromarray(arr))
    _save(tmp_path, "dot.png", Image.new("L", (1, 1), 99))
    data = load_dataset(tmp_path, resolution=32, channels=1)
    assert data.images[0].eq(99).all()  # 1x1 upsampled
    assert data.images[1, 0, :, 16].min() > 100 and data.images[1, 0, :, 0].max() < 60  # the centre of the strip


def _png_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose header is rewritten to claim width x height pixels."""
    blob = bytearray(png_bytes())
    ihdr = struct.pack(">II", width, height) + bytes(blob[24:29])
    blob[16:29] = ihdr
    blob[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(blob)


@pytest.mark.parametrize(
    ("side", "message"),
    [
        (9000, r"bomb\.png: 9000x9000 pixels is over the limit of 67,108,864"),
        (100_000, r"bomb\.png: .*decompression bomb"),
    ],
)
def test_decompression_bomb_image_is_refused(tmp_path, side, message):
    (tmp_path / "ok.png").write_bytes(png_bytes())
    (tmp_path / "bomb.png").write_bytes(_png_claiming(side, side))
    with pytest.raises(DCGANError, match=message):
        load_dataset(tmp_path, resolution=16)
    assert load_dataset(tmp_path, resolution=16, skip_bad=True).skipped == 1
