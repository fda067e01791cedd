"""Image folders and zips: class folders give labels, a zip's inner folder selects a split, hostile zips are refused."""

import zipfile

import pytest
import torch

from conftest import png_bytes, shared_data, write_images
from dcgan import DCGANError, load_dataset
from dcgan.data.formats.folder import Tree, class_labels, files_under


def test_image_folder_of_mixed_modes_and_sizes_with_class_labels(tmp_path):
    specs = [
        ("cats/a.png", "RGB", (40, 30)),
        ("cats/b.jpg", "L", (16, 16)),
        ("dogs/c.png", "RGBA", (64, 80)),
        ("dogs/d.png", "P", (33, 33)),
        ("dogs/sub/e.png", "I;16", (20, 24)),
    ]
    write_images(tmp_path / "imgs", specs)
    data = load_dataset(tmp_path / "imgs", resolution=16, channels=3)
    assert data.images.shape == (5, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.class_names == ["cats", "dogs"]  # the folder under the root names the class, sub-folders too
    assert data.labels.tolist() == [0, 0, 1, 1, 1]
    innermost = load_dataset(tmp_path / "imgs", resolution=16, channels=3, class_folder="innermost", cache=False)
    assert innermost.class_names == ["cats", "dogs", "sub"] and innermost.labels.tolist() == [0, 0, 1, 1, 2]
    grey = load_dataset(tmp_path / "imgs", resolution=32, channels=1)
    assert grey.images.shape == (5, 1, 32, 32)
    # 16-bit grey is rescaled, not clipped to white
    assert 40 < grey.images[4].float().mean() < 215


def test_zip_gives_the_same_pixels_as_the_folder(tmp_path):
    paths = write_images(tmp_path / "imgs", [(f"x/{i}.png", "RGB", (20 + i, 24)) for i in range(6)])
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        for p in paths:
            zf.write(p, f"top/{p.relative_to(tmp_path / 'imgs')}")
    a = load_dataset(tmp_path / "imgs", resolution=16)
    b = load_dataset(tmp_path / "imgs.zip", resolution=16)
    assert torch.equal(a.images, b.images)
    assert a.channels == 3 and a.resolution == 16


def test_a_folder_inside_a_zip_selects_a_split(tmp_path):
    paths = write_images(
        tmp_path / "d",
        [(f"set/{split}/{c}/{i}.png", "RGB", (16, 16)) for split in ("train", "test") for c in "ab" for i in range(3)],
    )
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for p in paths:
            zf.write(p, p.relative_to(tmp_path / "d").as_posix())
    train = load_dataset(tmp_path / "d.zip" / "set" / "train", resolution=16)
    assert len(train) == 6 and train.class_names == ["a", "b"] and train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert len(load_dataset(tmp_path / "d.zip", resolution=16)) == 12
    with pytest.raises(DCGANError, match="no image files found"):
        load_dataset(tmp_path / "d.zip" / "set" / "validation", resolution=16)


def test_real_cifar10_zip_split():
    data = load_dataset(shared_data("cifar10-jpg.zip") / "cifar10" / "test", limit=500)
    assert data.images.shape == (500, 3, 32, 32) and len(data.class_names) >= 1


def test_real_cifar10_zip_split_by_folder_name():
    data = load_dataset(shared_data("cifar10-jpg.zip"), split="test")
    assert data.images.shape == (10000, 3, 32, 32) and data.class_names[:2] == ["airplane", "automobile"]
    assert data.labels.bincount().tolist() == [1000] * 10


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in members.items():
            zf.writestr(zipfile.ZipInfo(name), blob)


@pytest.mark.parametrize(
    "name", ["../escape.png", "a/../../escape.png", "/etc/evil.png", "C:/evil.png", "..\\evil.png"]
)
def test_zip_with_path_traversal_names_is_refused(tmp_path, name):
    _zip(tmp_path / "evil.zip", {"ok.png": png_bytes(), name: png_bytes()})
    with pytest.raises(DCGANError, match="unsafe member name"):
        load_dataset(tmp_path / "evil.zip")


def test_zip_bomb_member_is_refused(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.png", png_bytes())
        with zf.open("huge.bmp", "w", force_zip64=True) as fh:
            zeros = bytes(1 << 22)
            for _ in range(65):  # 260 MiB of zeros: a few hundred KiB compressed
                fh.write(zeros)
    assert (tmp_path / "bomb.zip").stat().st_size < 2_000_000
    opened = []  # refused from the declared size alone: no member is decompressed (however fast the machine)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *args, **kwargs: opened.append(name))
    with pytest.raises(DCGANError, match=r"declares 272,629,760 bytes .* zip bomb"):
        load_dataset(tmp_path / "bomb.zip")
    assert opened == []


def test_classes_are_the_folders_under_the_root_past_shared_and_split_folders():
    names = ["faces/train/smile/batch3/a.jpg", "faces/train/smile/b.jpg", "faces/train/frown/batch1/c.jpg"]
    top = class_labels(names)
    assert top["class_names"] == ["frown", "smile"] and top["labels"].tolist() == [1, 1, 0]
    assert class_labels(names, "innermost")["class_names"] == ["batch1", "batch3", "smile"]
    assert class_labels(["x/a.png", "x/b.png"]) == {}  # one folder: no classes
    assert class_labels([]) == {}  # an empty folder (its error comes later, naming the folder)


def test_lsun_export_key_folders_are_not_classes():
    """LSUN's export writes a/b/c/d/e/f/<key>.webp: one set, unlabelled, whichever --class-folder; folders above
    the key folders (one export per category) still name classes, and folders that do not spell the key stay."""
    keys = ["00012e7f37", "073bda193e", "f00d5e1b2c"]
    export = [f"{'/'.join(k[:6])}/{k}.webp" for k in keys]
    assert class_labels(export) == {} and class_labels(export, "innermost") == {}
    two = class_labels([f"bedroom/{n}" for n in export] + [f"tower/{n}" for n in export[:1]])
    assert two["class_names"] == ["bedroom", "tower"] and two["labels"].tolist() == [0, 0, 0, 1]
    assert class_labels(["0/0/0/1/2/f/00012e7f37.webp", "a/b/x.png"])["class_names"] == ["0", "a"]  # 'f' != 'e'


def test_a_folder_is_walked_in_sorted_path_order_and_listed_in_sorted_name_order(tmp_path):
    """files_under keeps one folder's listing at a time and yields the order of sorted paths (the fingerprint's);
    Tree.files sorts the names as strings (the image order of every prepared set so far), which differs."""
    for name in ["a.jpg", "a/x.jpg", "a/b/y.png", "a.d/z.jpg", "B/q.jpg", "c/10.jpg", "c/2.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "c" / "link").symlink_to(tmp_path / "a", target_is_directory=True)  # not entered, as rglob does
    walked = [name for name, _ in files_under(tmp_path)]
    assert walked == [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*")) if p.is_file()]
    assert walked[:3] == ["B/q.jpg", "a/b/y.png", "a/x.jpg"]
    assert Tree(tmp_path).files == sorted(walked) != walked
