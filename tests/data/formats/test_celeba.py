"""CelebA: the real 10k zip (skipped when absent) and generated folders in the official layouts."""

import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import CELEBA_ATTRS, CELEBA_NAMES, shared_data, write_celeba
from dcgan import DCGANError, load_dataset
from dcgan.data.formats import celeba
from dcgan.data.source import limit_rows


@pytest.mark.parametrize("size", [(178, 218), (89, 109)])
def test_generated_celeba_face_crop_and_attributes(tmp_path, size):
    write_celeba(tmp_path, CELEBA_ATTRS, size)
    data = load_dataset(tmp_path, resolution=16)
    assert data.images.shape == (5, 3, 16, 16) and data.attribute_names == CELEBA_NAMES
    assert data.attributes.dtype.is_floating_point is False and data.attributes.tolist() == CELEBA_ATTRS
    # the crop is exactly the flat centre square (black border cropped away), at both sizes
    for i, img in enumerate(data.images.numpy(), 1):
        colour = np.random.default_rng(i).integers(60, 250, 3)
        assert np.abs(img[:, 2:-2, 2:-2].astype(int) - colour[:, None, None]).max() <= 2


def test_where_filters_by_attributes(tmp_path):
    write_celeba(tmp_path, CELEBA_ATTRS)
    smiling_women = load_dataset(tmp_path, resolution=16, where="Smiling=1,Male=-1")
    assert smiling_women.attributes.tolist() == [CELEBA_ATTRS[1], CELEBA_ATTRS[4]]
    everyone = load_dataset(tmp_path, resolution=16)
    assert (smiling_women.images.numpy() == everyone.images.numpy()[[1, 4]]).all()
    for where, message in [
        ("Smiling=2", "cannot read --where"),
        ("Happy=1", "unknown attribute"),
        ("Smiling=1,Male=1,Eyeglasses=1", "no image"),
    ]:
        with pytest.raises(DCGANError, match=message):
            load_dataset(tmp_path, resolution=16, where=where)


def test_where_needs_attributes(tmp_path):
    Image.new("RGB", (16, 16)).save(tmp_path / "a.png")
    with pytest.raises(DCGANError, match="has none"):
        load_dataset(tmp_path, where="Smiling=1")


def test_official_drive_layout_with_zipped_images_and_partition(tmp_path):
    write_celeba(tmp_path / "src", CELEBA_ATTRS, partition=[0, 0, 1, 2, 0])
    everyone = load_dataset(tmp_path / "src", resolution=16)
    (tmp_path / "CelebA" / "Img").mkdir(parents=True)
    (tmp_path / "CelebA" / "Anno").mkdir()
    (tmp_path / "CelebA" / "Eval").mkdir()
    with zipfile.ZipFile(tmp_path / "CelebA" / "Img" / "img_align_celeba.zip", "w") as zf:
        for p in sorted((tmp_path / "src" / "img_align_celeba").iterdir()):
            zf.write(p, f"img_align_celeba/{p.name}")
    (tmp_path / "src" / celeba.ATTR_FILE).rename(tmp_path / "CelebA" / "Anno" / celeba.ATTR_FILE)
    (tmp_path / "src" / celeba.PARTITION_FILE).rename(tmp_path / "CelebA" / "Eval" / celeba.PARTITION_FILE)
    folder = load_dataset(tmp_path / "src", resolution=16, channels=3)  # attribute file gone: plain images
    assert folder.attributes is None and len(folder) == 5 and not (folder.images == everyone.images).all()
    train = load_dataset(tmp_path / "CelebA", resolution=16, split="train")
    assert train.attributes.tolist() == [CELEBA_ATTRS[0], CELEBA_ATTRS[1], CELEBA_ATTRS[4]]
    assert (train.images.numpy() == everyone.images.numpy()[[0, 1, 4]]).all()
    assert len(load_dataset(tmp_path / "CelebA", resolution=16, split="test")) == 1
    with pytest.raises(DCGANError, match="no split"):
        load_dataset(tmp_path / "CelebA", split="validation")


def test_broken_attribute_list_is_refused(tmp_path):
    write_celeba(tmp_path, CELEBA_ATTRS)
    text = (tmp_path / celeba.ATTR_FILE).read_text().splitlines()
    (tmp_path / celeba.ATTR_FILE).write_text("\n".join(text[:-1]) + "\n")
    with pytest.raises(DCGANError, match="announces 5 rows but has 4"):
        load_dataset(tmp_path)
    (tmp_path / celeba.ATTR_FILE).write_text("\n".join([*text[:2], "000001.png 1 0 1"]) + "\n")
    with pytest.raises(DCGANError, match="not a CelebA attribute list"):
        load_dataset(tmp_path)


def test_real_celeba_zip():
    path = shared_data("celeba-10k.zip")
    data = load_dataset(path, resolution=64, limit=300)
    assert data.images.shape == (300, 3, 64, 64) and data.attributes.shape == (300, 40)
    assert data.attribute_names[:2] == ["5_o_Clock_Shadow", "Arched_Eyebrows"] and len(data.attribute_names) == 40
    # the crop: the centred 54x54 (108/178 of 89 px) of the first image --limit picked, resized like fit_image does
    first = limit_rows(None, 10_000, 300)[0]
    with zipfile.ZipFile(path) as zf, zf.open(f"celeba/img_align_celeba/{first + 1:06d}.jpg") as fh:
        img = Image.open(fh).convert("RGB")
    expected = img.resize((64, 64), Image.Resampling.BICUBIC, box=(17.5, 27.5, 71.5, 81.5), reducing_gap=None)
    assert (data.images[0].permute(1, 2, 0).numpy() == np.asarray(expected)).all()
    # attribute counts of the whole subset (from the data's README): Smiling 4,822, Male 4,217, Eyeglasses 674
    labels = celeba.parse_attributes(zipfile.ZipFile(path).read("celeba/list_attr_celeba.txt").decode(), "x")
    names, rows = labels
    table = np.stack(list(rows.values()))
    assert [(table[:, names.index(n)] == 1).sum() for n in ("Smiling", "Male", "Eyeglasses")] == [4822, 4217, 674]
    smiling_women = load_dataset(path, resolution=16, where="Smiling=1,Male=-1")
    expected_count = ((table[:, names.index("Smiling")] == 1) & (table[:, names.index("Male")] == -1)).sum()
    assert len(smiling_women) == expected_count > 2000
    assert (smiling_women.attributes[:, names.index("Smiling")] == 1).all()
