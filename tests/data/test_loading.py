"""load_dataset: the bundled sample, missing and unknown sources, data options as keywords or SourceOptions."""

import zipfile

import pytest
import torch

from conftest import same_data, shared_data, write_images
from dcgan import DCGANError, SourceOptions, load_dataset
from dcgan.cli import main
from dcgan.data import bundled_mnist_path, default_test_split, prepare_dataset


def test_bundled_sample_is_real_mnist():
    data = load_dataset()
    assert data.images.shape == (30000, 1, 32, 32)
    assert data.labels.bincount().tolist() == [2961, 3423, 2948, 3073, 2926, 2709, 2975, 3107, 2875, 3003]
    assert (bundled_mnist_path() / "ATTRIBUTION.md").is_file()
    mnist = shared_data("mnist")
    real = load_dataset(mnist)  # the sample is the first 30,000 (--limit would draw a random 30,000)
    assert torch.equal(real.images[:30000], data.images) and torch.equal(real.labels[:30000], data.labels)


def test_empty_and_missing_sources(tmp_path):
    with pytest.raises(DCGANError, match="does not exist"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DCGANError, match="no image files found"):
        load_dataset(tmp_path / "empty")
    zipfile.ZipFile(tmp_path / "empty.zip", "w").close()
    with pytest.raises(DCGANError, match="no image files found"):
        load_dataset(tmp_path / "empty.zip")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(DCGANError, match="not a readable zip"):
        load_dataset(tmp_path / "broken.zip")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DCGANError, match="not a dataset dcgan can read"):
        load_dataset(tmp_path / "notes.txt")


def test_default_test_split(tmp_path, capsys):
    assert str(default_test_split("/x/cifar10-jpg.zip/cifar10/train")) == "/x/cifar10-jpg.zip/cifar10/test"
    (tmp_path / "t10k-images-idx3-ubyte.gz").touch()
    assert default_test_split(str(tmp_path)) == tmp_path / "t10k-images-idx3-ubyte.gz"
    # features refuses an output it would not write, before it reads the (here missing) checkpoint
    assert main(["features", "--checkpoint", str(tmp_path), "--data", str(tmp_path), "-o", "x.txt"]) == 2
    assert (
        capsys.readouterr().err == "dcgan features: error: --output x.txt must end in .npy\n  fix: e.g. -o feats.npy\n"
    )


def test_options_as_keywords_or_as_source_options_read_the_same_images(tmp_path):
    write_images(tmp_path / "imgs", [(f"{c}/{i}.png", "RGB", (20 + i, 24)) for c in "ab" for i in range(4)])
    by_options = load_dataset(tmp_path / "imgs", SourceOptions(resolution=16, limit=5))
    assert by_options.images.shape == (5, 3, 16, 16) and by_options.labels.tolist() == [0, 0, 0, 1, 1]
    same_data(by_options, load_dataset(tmp_path / "imgs", resolution=16, limit=5))
    same_data(by_options, load_dataset(tmp_path / "imgs", 16, limit=5))  # SourceOptions' fields, in its order
    same_data(by_options, load_dataset(tmp_path / "imgs", SourceOptions(resolution=16), limit=5))  # keywords add
    same_data(by_options, load_dataset(tmp_path / "imgs", SourceOptions(resolution=32, limit=5), resolution=16))
    assert len(load_dataset(tmp_path / "imgs", SourceOptions(resolution=16))) == 8


def test_held_out_reads_exactly_the_images_limit_leaves_out(tmp_path, monkeypatch):
    monkeypatch.setenv("DCGAN_CACHE", str(tmp_path / "cache"))
    write_images(tmp_path / "imgs", [(f"{c}/{i}.png", "RGB", (16, 16)) for c in "ab" for i in range(5)])
    everything = {bytes(x.numpy()) for x in load_dataset(tmp_path / "imgs", resolution=16).images}
    for cache in (False, True):  # decoded directly, and from the cached prepared copy
        kept = load_dataset(tmp_path / "imgs", resolution=16, limit=6, cache=cache)
        rest = load_dataset(tmp_path / "imgs", resolution=16, limit=6, held_out=True, cache=cache)
        kept_set, rest_set = {bytes(x.numpy()) for x in kept.images}, {bytes(x.numpy()) for x in rest.images}
        assert len(kept) == 6 and len(rest) == 4 and not kept_set & rest_set and kept_set | rest_set == everything
        assert sorted(rest.labels.tolist() + kept.labels.tolist()) == [0] * 5 + [1] * 5
    with pytest.raises(DCGANError, match="--held-out needs --limit"):
        load_dataset(tmp_path / "imgs", held_out=True)
    with pytest.raises(DCGANError, match="leaves no image: the source has only 10"):
        load_dataset(tmp_path / "imgs", limit=10, held_out=True)


def test_an_unknown_data_option_is_a_type_error(tmp_path):
    write_images(tmp_path, [("a.png", "RGB", (16, 16))])
    with pytest.raises(TypeError, match="resolutoin"):
        load_dataset(tmp_path, resolutoin=16)
    with pytest.raises(TypeError, match="resolutoin"):
        prepare_dataset(tmp_path, tmp_path / "out", resolutoin=16)
    assert not (tmp_path / "out").exists()
