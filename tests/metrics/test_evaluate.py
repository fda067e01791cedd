"""The domain classifier, feature networks by name, and ``evaluate`` (API and CLI) on a tiny trained run."""

import json

import numpy as np
import pytest
import torch

from conftest import blobs
from dcgan import DCGANError, Generator, ImageData, ModelSpec, load_dataset
from dcgan.cli import main
from dcgan.core.features import extract
from dcgan.core.images import to_uint8_tensor
from dcgan.core.sampling import generate, sample_noise, seeded
from dcgan.metrics import evaluate, feature_network, load_classifier, score, train_classifier
from dcgan.metrics.evaluate import generated_images, parse_metrics, sample_images


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A domain classifier trained on blobs (small vs large discs), and its folder."""
    out = tmp_path_factory.mktemp("clf")
    clf, path = train_classifier(blobs(400, resolution=32, seed=3), out, epochs=4, width=8, progress=False)
    assert path == out / "classifier.safetensors" and path.is_file()
    return clf, out


def test_the_domain_classifier_learns_and_round_trips(classifier):
    clf, out = classifier
    assert clf.meta["task"] == "classes" and clf.meta["names"] == ["small", "large"]
    assert clf.meta["held_out_images"] == 40 and clf.meta["held_out_accuracy"] > 0.8  # chance is about 0.5
    loaded = load_classifier(out)
    assert loaded.meta == clf.meta
    images = blobs(16, resolution=32, seed=4).images
    with torch.inference_mode():
        assert torch.equal(loaded.net.body(loaded.inputs(images)), clf.net.body(clf.inputs(images)))
    extractor = feature_network(f"domain:{out}")
    feats = extract(extractor, images, progress=False)
    assert feats.shape == (16, 128) and np.isfinite(feats).all()
    # images of another size and channel count are resized and averaged to the classifier's input: twice the size
    # (each pixel a 2x2 block, which bilinear resizing undoes exactly), in RGB whose channels differ but average to
    # the grey, read as the same features; a single channel (0.05 away) or other discs (0.28) are far outside
    big = torch.nn.functional.interpolate(images.float(), size=64, mode="nearest").to(torch.uint8)
    rgb = torch.cat([big - 15, big, big + 15], dim=1)  # blobs are 20 or 240 grey: no channel leaves uint8
    np.testing.assert_allclose(extract(extractor, rgb, progress=False), feats, rtol=0, atol=1e-5)
    unrelated = extract(extractor, blobs(16, resolution=32, seed=5).images, progress=False)
    assert np.abs(unrelated - feats).max() > 1000 * 1e-5


def test_domain_features_separate_what_the_classifier_learned(classifier):
    """Small and large discs are far apart in the learned features; two halves of one kind are close."""
    _, out = classifier
    data = blobs(600, resolution=32, seed=5)  # radii 2..8 px: half small, half large
    feats = extract(feature_network(f"domain:{out}"), data.images, progress=False)
    small, large = feats[data.labels.numpy() == 0], feats[data.labels.numpy() == 1]
    half = len(small) // 2
    same = score(small[:half], small[half:], ["fid"])["fid"]
    different = score(small, large, ["fid"])["fid"]
    assert different > 10 * same > 0


def test_classifier_and_network_errors(tmp_path):
    unlabelled = ImageData(blobs(8).images)
    with pytest.raises(DCGANError, match="no labels"):
        train_classifier(unlabelled, tmp_path, progress=False)
    (tmp_path / "classifier.safetensors").write_bytes(b"nonsense")
    with pytest.raises(DCGANError, match="train-classifier"):
        load_classifier(tmp_path)
    with pytest.raises(DCGANError, match="unknown feature network"):
        feature_network("vgg")
    assert feature_network("domain").name == "domain (bundled, trained on MNIST)"  # no folder: the bundled one
    with pytest.raises(DCGANError, match="needs a checkpoint"):
        feature_network("discriminator")
    with pytest.raises(DCGANError, match="at least 2 generated"):
        score(np.zeros((5, 3)), np.zeros((0, 3)), ["fid"])
    with pytest.raises(DCGANError, match="unknown metric foo"):
        parse_metrics("fid,foo")
    assert parse_metrics("pr, fid") == ["pr", "fid"]


def test_train_classifier_from_the_command_line_writes_a_file_that_loads(labelled, tmp_path, capsys):
    """One epoch on class folders: the file loads, and the accuracy printed is that network's on the held-out images
    (the seeded split, scored again here with the loaded file)."""
    data, out = labelled / "data" / "train", tmp_path / "clf"
    argv = ["train-classifier", "--data", str(data), "-o", str(out), "--epochs", "1", "--width", "8"]
    assert main([*argv, "--resolution", "32", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    clf = load_classifier(out)
    assert clf.meta["names"] == ["large", "small"] and clf.meta["held_out_images"] == 16  # 10% of 160
    images = load_dataset(data, resolution=32)
    held_out = torch.randperm(len(images), generator=seeded(0))[:16]
    with torch.inference_mode():
        predicted = clf.net(clf.inputs(images.images[held_out])).argmax(1)
    accuracy = float((predicted == images.labels[held_out]).float().mean())
    assert printed == (
        f"wrote {out / 'classifier.safetensors'}: classes (2) at 32x32, held-out accuracy {accuracy:.3f} on 16 images\n"
    )


def test_sample_images_is_a_seeded_random_subset():
    images = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1)
    a, b = sample_images(images, 30, seed=1), sample_images(images, 30, seed=1)
    assert torch.equal(a, b) and len(a.unique()) == 30
    assert a.flatten().max() > 50  # not the first 30: folders list class by class
    assert torch.equal(sample_images(images, 200), images)


def test_evaluate_scores_a_checkpoint_the_same_way_twice(labelled, classifier):
    checkpoint = labelled / "run" / "checkpoints" / "last.safetensors"
    real = labelled / "data" / "test"
    _, clf = classifier
    result = evaluate(checkpoint, real, f"domain:{clf}", n=60, progress=False)
    assert set(result.values) == {"fid", "kid", "kid_std", "precision", "recall"}
    assert result.n_real == 60 and result.n_fake == 60 and result.features.startswith(f"domain:{clf}")
    assert result.values["fid"] > 0 and 0 <= result.values["precision"] <= 1 and 0 <= result.values["recall"] <= 1
    again = evaluate(checkpoint, real, str(clf), ["fid"], n=60, progress=False)  # the folder alone: plainly domain
    assert again.values["fid"] == pytest.approx(result.values["fid"], rel=1e-9)
    d = evaluate(checkpoint, real, "discriminator", ["fid"], n=60, progress=False)
    assert d.features.startswith(f"discriminator:{checkpoint}") and d.values["fid"] != result.values["fid"]
    assert result.real_features.images_per_second > 0 and result.to_dict()["real_images_per_second"] > 0


def test_evaluate_cli_writes_json_and_explains_bad_input(labelled, tmp_path, capsys):
    checkpoint = labelled / "run" / "checkpoints" / "last.safetensors"
    real = labelled / "data" / "test"
    out = tmp_path / "q.json"
    args = ["evaluate", "--checkpoint", str(checkpoint), "--real", str(real), "--n", "40", "--no-progress"]
    assert main([*args, "--metrics", "fid,pr", "--limit", "30", "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert set(written["values"]) == {"fid", "precision", "recall"} and written["n_fake"] == 40
    assert written["n_real"] == 30  # --limit: the first 30 real images, all of them
    assert written["features"].startswith("discriminator:") and "features: discriminator:" in capsys.readouterr().out
    assert main([*args, "--metrics", "fid,is"]) == 2
    assert "unknown metric is" in capsys.readouterr().err
    assert main([*args, "--features", f"inception:{tmp_path / 'missing.pth'}"]) == 2
    err = capsys.readouterr().err
    assert "missing.pth are not there" in err and "pt_inception-2015-12-05-6726825d.pth" in err


def test_a_conditional_generator_is_scored_on_every_class_equally():
    torch.manual_seed(0)
    G = Generator(ModelSpec(resolution=16, channels=1, nz=8, g_width=4, d_width=4, num_classes=3))
    images = generated_images(G, 7, seed=2, batch_size=3)  # chunks of 3 keep the label cycle going
    z = sample_noise(7, 8, "normal", seeded(2))
    expected = generate(G, z, torch.tensor([0, 1, 2, 0, 1, 2, 0]))
    assert images.shape == (7, 1, 16, 16) and images.dtype == torch.uint8
    assert torch.equal(images, to_uint8_tensor(expected))
