"""CelebA: the real 10k zip (skipped when absent) and generated folders in the official layouts."""

import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import CELEBA_ATTRS, CELEBA_NAMES, same_data, shared_data, write_celeba
from dcgan import DCGANError, load_dataset
from dcgan.data import open_source, prepare_dataset
from dcgan.data.formats import celeba
from dcgan.data.source import limit_rows

# the 5 points of each generated face in pixels of the 178x218 aligned image (x, y); the last mouth corner of
# the last face lies outside the face crop (left of it and below it)
LANDMARKS = np.array([[69, 109], [106, 113], [77, 142], [73, 152], [108, 154]]) + np.arange(5)[:, None, None] * [2, -1]
LANDMARKS[4, 4] = [20, 170]
POINT_NAMES = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]


def in_crop(pixels: np.ndarray) -> np.ndarray:
    """The test's own geometry: the centred 108x108 crop of 178x218 starts at x = 35, y = 55; pixel p's centre is
    at p + 0.5; fractions of the crop's side."""
    return (pixels + 0.5 - np.array([35, 55])) / 108


@pytest.mark.parametrize("size", [(178, 218), (89, 109)])
def test_generated_celeba_face_crop_and_attributes(tmp_path, size):
    write_celeba(tmp_path, CELEBA_ATTRS, size)
    data = load_dataset(tmp_path, resolution=16)
    assert data.images.shape == (5, 3, 16, 16) and data.attribute_names == CELEBA_NAMES
    assert data.attributes.dtype.is_floating_point is False and data.attributes.tolist() == CELEBA_ATTRS
    assert data.landmarks is None and data.landmark_names == []  # no landmark list: still loads, without them
    # the crop is exactly the flat centre square (black border cropped away), at both sizes
    for i, img in enumerate(data.images.numpy(), 1):
        colour = np.random.default_rng(i).integers(60, 250, 3)
        assert np.abs(img[:, 2:-2, 2:-2].astype(int) - colour[:, None, None]).max() <= 2


@pytest.mark.parametrize("size", [(178, 218), (89, 109)])
def test_landmarks_follow_the_face_crop_and_the_selected_rows(tmp_path, size):
    write_celeba(tmp_path, CELEBA_ATTRS, size, landmarks=LANDMARKS)
    data = load_dataset(tmp_path, resolution=16)
    assert data.landmark_names == POINT_NAMES and data.landmarks.dtype == torch.float32
    assert data.landmarks.shape == (5, 5, 2) and np.allclose(data.landmarks.numpy(), in_crop(LANDMARKS), atol=1e-6)
    assert data.landmarks[4, 4, 0] < 0 and data.landmarks[4, 4, 1] > 1  # outside the crop: kept, not clipped
    assert (load_dataset(tmp_path, resolution=32).landmarks == data.landmarks).all()  # fractions: any resolution
    assert (load_dataset(tmp_path, resolution=16, where="Smiling=1,Male=-1").landmarks == data.landmarks[[1, 4]]).all()
    kept = limit_rows(None, 5, 3)
    assert (load_dataset(tmp_path, resolution=16, limit=3).landmarks == data.landmarks[kept]).all()
    left = np.setdiff1d(np.arange(5), kept)
    assert (load_dataset(tmp_path, resolution=16, limit=3, held_out=True).landmarks == data.landmarks[left]).all()
    (tmp_path / "img_align_celeba" / "000002.png").write_bytes(b"broken")
    assert (load_dataset(tmp_path, resolution=16, skip_bad=True).landmarks == data.landmarks[[0, 2, 3, 4]]).all()


def test_parse_landmarks_reads_the_official_format():
    text = (
        "2\r\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\r\n"
        "000001.jpg    69  109  106  113   77  142   73  152  108  154\r\n"
        "000002.jpg 69 110 107 112 81 135 70 151 108 153\r\n"
    )
    rows = celeba.parse_landmarks(text, "x")
    assert list(rows) == ["000001.jpg", "000002.jpg"] and rows["000001.jpg"].dtype == np.float32
    assert rows["000001.jpg"].tolist() == [[69, 109], [106, 113], [77, 142], [73, 152], [108, 154]]


def test_broken_landmark_list_is_refused(tmp_path):
    write_celeba(tmp_path, CELEBA_ATTRS, landmarks=LANDMARKS)
    file = tmp_path / celeba.LANDMARK_FILE
    count, header, *rows = file.read_text().splitlines()
    fix = f"fix: use the official {celeba.LANDMARK_FILE}"
    for lines, message in [
        ([count, header, *rows[:-1]], "announces 5 rows but has 4"),
        (
            [count, header, rows[0], rows[1].rsplit(maxsplit=1)[0], *rows[2:]],
            "row 000002.png has 9 values, not 10.*" + fix,
        ),
        ([count, header, rows[0], rows[1] + " 5", *rows[2:]], "row 000002.png has 11 values"),
        ([count, header, rows[0], rows[1].replace("  ", " x", 1), *rows[2:]], "not a CelebA landmark list.*" + fix),
        ([count, header, rows[0], rows[1].replace("  ", " nan", 1)[:-5], *rows[2:]], "holds nan, not a pixel"),
        ([count, header, rows[0], rows[1].replace("  ", " 1e40", 1)[:-5], *rows[2:]], "holds 1e\\+40, not a pixel"),
        ([count, header.rsplit(maxsplit=2)[0], *rows], "header names 8 columns, not 10"),
        (["five", header, *rows], "not a CelebA landmark list"),
        ([count, header, *rows[:2], rows[2].replace("000003", "000009"), *rows[3:]], "no row for 1 of the 5 images"),
    ]:
        file.write_text("\n".join(lines) + "\n")
        with pytest.raises(DCGANError, match=f"(?s){file.name}.*{message}"):
            load_dataset(tmp_path, resolution=16)


def test_mutated_landmark_lists_parse_or_are_refused_cleanly(tmp_path):
    """Seeded random damage (bytes overwritten, the file cut): every result is rows of finite points, or a DCGANError."""
    write_celeba(tmp_path, CELEBA_ATTRS, landmarks=LANDMARKS)
    good = (tmp_path / celeba.LANDMARK_FILE).read_bytes()
    rng = np.random.default_rng(0)
    for _ in range(300):
        data = bytearray(good[: rng.integers(1, len(good) + 1)])
        for at in rng.integers(0, len(data), rng.integers(1, 6)):
            data[at] = rng.choice(list(b"0123456789 .-+eEnaif\n\xff"))
        try:
            rows = celeba.parse_landmarks(bytes(data).decode("ascii", "replace"), "x")
        except DCGANError as exc:
            assert "Traceback" not in str(exc) and "fix:" in str(exc)
        else:
            assert all(p.shape == (5, 2) and np.isfinite(p).all() for p in rows.values())


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
    write_celeba(tmp_path / "src", CELEBA_ATTRS, partition=[0, 0, 1, 2, 0], landmarks=LANDMARKS)
    everyone = load_dataset(tmp_path / "src", resolution=16)
    (tmp_path / "CelebA" / "Img").mkdir(parents=True)
    (tmp_path / "CelebA" / "Anno").mkdir()
    (tmp_path / "CelebA" / "Eval").mkdir()
    with zipfile.ZipFile(tmp_path / "CelebA" / "Img" / "img_align_celeba.zip", "w") as zf:
        for p in sorted((tmp_path / "src" / "img_align_celeba").iterdir()):
            zf.write(p, f"img_align_celeba/{p.name}")
    for name in (celeba.ATTR_FILE, celeba.LANDMARK_FILE):
        (tmp_path / "src" / name).rename(tmp_path / "CelebA" / "Anno" / name)
    (tmp_path / "src" / celeba.PARTITION_FILE).rename(tmp_path / "CelebA" / "Eval" / celeba.PARTITION_FILE)
    folder = load_dataset(tmp_path / "src", resolution=16, channels=3)  # attribute file gone: plain images
    assert folder.attributes is None and len(folder) == 5 and not (folder.images == everyone.images).all()
    train = load_dataset(tmp_path / "CelebA", resolution=16, split="train")
    assert train.attributes.tolist() == [CELEBA_ATTRS[0], CELEBA_ATTRS[1], CELEBA_ATTRS[4]]
    assert (train.images.numpy() == everyone.images.numpy()[[0, 1, 4]]).all()
    assert (train.landmarks == everyone.landmarks[[0, 1, 4]]).all() and train.landmark_names == POINT_NAMES
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


def test_real_celeba_landmarks(tmp_path):
    path = shared_data("celeba-10k.zip")
    every = open_source(path, resolution=16)  # reads the lists (and one image), decodes no other
    points = every.landmarks
    assert points.shape == (10_000, 5, 2) and points.dtype == np.float32 and every.landmark_names == POINT_NAMES
    with zipfile.ZipFile(path) as zf:
        count, header, *rows = zf.read(f"celeba/{celeba.LANDMARK_FILE}").decode().splitlines()
        attributes = celeba.parse_attributes(zf.read(f"celeba/{celeba.ATTR_FILE}").decode(), "x")
    assert count == "10000" and len(rows) == 10_000 and header.split()[:3] == ["lefteye_x", "lefteye_y", "righteye_x"]
    for i in (0, 2, 4321, 9999):  # 000003.jpg is a profile
        name, *values = rows[i].split()
        assert name == f"{i + 1:06d}.jpg"
        assert np.allclose(points[i], in_crop(np.array(values, dtype=float).reshape(5, 2)), atol=1e-6)
    x, y = points[..., 0], points[..., 1]
    # measured: eyes above the nose in 99.91% of the faces, mouth corners below it in 99.96%
    assert (np.maximum(y[:, 0], y[:, 1]) < y[:, 2]).mean() > 0.99
    assert (np.minimum(y[:, 3], y[:, 4]) > y[:, 2]).mean() > 0.99
    # CelebA's "left" is the image's left (the person's right): that eye and mouth corner have the smaller x, always
    assert (x[:, 0] < x[:, 1]).all() and (x[:, 3] < x[:, 4]).all()
    assert 0 < ((points < 0) | (points > 1)).any(axis=(1, 2)).sum() < 100  # a few mouths below the crop, kept
    # the rows of --where and --limit, directly, prepared and cached: the same points as the whole set's rows
    names, table = attributes[0], np.stack(list(attributes[1].values()))
    where = "Eyeglasses=1,Male=-1"  # 150 faces
    glasses = np.flatnonzero((table[:, names.index("Eyeglasses")] == 1) & (table[:, names.index("Male")] == -1))
    picked = glasses[limit_rows(None, len(glasses), 100)]
    direct = load_dataset(path, resolution=16, where=where, limit=100)
    assert (direct.landmarks.numpy() == points[picked]).all() and direct.landmark_names == POINT_NAMES
    prepared = prepare_dataset(path, tmp_path / "glasses", resolution=16, where=where)
    assert (load_dataset(prepared).landmarks.numpy() == points[glasses]).all()
    same_data(load_dataset(prepared, limit=100), direct)
    same_data(load_dataset(path, resolution=16, where=where, limit=100, cache=True), direct)
