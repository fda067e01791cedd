"""Decoding a source: unreadable files are listed in one error, or skipped and counted with skip_bad."""

import io

import numpy as np
import pytest
from PIL import Image

from conftest import write_images
from dcgan import DCGANError, load_dataset


def test_corrupt_images_fail_with_a_list_or_are_skipped(tmp_path):
    write_images(tmp_path, [(f"ok{i}.png", "RGB", (16, 16)) for i in range(3)])
    (tmp_path / "bad1.png").write_bytes(b"\x89PNG garbage")
    good = (tmp_path / "ok0.png").read_bytes()
    (tmp_path / "bad2.jpg").write_bytes(good[: len(good) // 3])  # truncated
    with pytest.raises(DCGANError) as err:
        load_dataset(tmp_path, resolution=16)
    message = str(err.value)
    assert (
        "2 of 5 image files" in message and "bad1.png" in message and "bad2.jpg" in message and "--skip-bad" in message
    )
    data = load_dataset(tmp_path, resolution=16, skip_bad=True)
    assert len(data) == 3 and data.skipped == 2
    for p in tmp_path.glob("ok*.png"):
        p.unlink()
    with pytest.raises(DCGANError, match=r"none of the first 2 image files .* can be read"):
        load_dataset(tmp_path, resolution=16, skip_bad=True)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_files_are_reported(tmp_path, fmt):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, fmt)
    (tmp_path / "good.img").write_bytes(buf.getvalue())
    for name, blob in (("a-good", buf.getvalue()), ("b-cut", buf.getvalue()[: len(buf.getvalue()) // 2])):
        (tmp_path / f"{name}.{fmt.lower()}").write_bytes(blob)
    (tmp_path / "good.img").unlink()
    with pytest.raises(DCGANError, match=rf"1 of 2 image files .*\n    b-cut\.{fmt.lower()}: "):
        load_dataset(tmp_path, resolution=16)
