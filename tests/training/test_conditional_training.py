"""Training a class-conditional DCGAN (--conditional): labels reach G and D, and G learns to draw the asked class.

The real-MNIST version of the class check is the nearest-neighbour protocol in docs/metrics.md (class-conditional
section; a few CPU-minutes, too slow for the suite); here a tiny synthetic set whose classes are easy to see stands in.
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from conftest import blobs, tiny_config
from dcgan import DCGANError, ImageData
from dcgan.core.checkpoints import load_checkpoint
from dcgan.core.sampling import generate, seeded
from dcgan.core.tensorfile import load_tensors, save_tensors
from dcgan.training import Trainer, resume, train


def halves(n: int, seed: int) -> ImageData:
    """16x16 grey noise with the top (class 0) or the bottom (class 1) half lit at a random brightness."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = np.full((n, 1, 16, 16), 20.0)
    for image, label, level in zip(images, labels, rng.integers(120, 256, n), strict=True):
        image[0, 8 * label : 8 * label + 8] = level
    images = np.clip(images + rng.normal(0, 15, images.shape), 0, 255).astype(np.uint8)
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels), ["top", "bottom"], "halves")


def test_the_conditional_generator_draws_the_asked_class(tmp_path):
    """40 steps; a classifier fitted on real labelled images reads G's samples (chance: 50%)."""
    config = tiny_config(tmp_path, conditional=True, epochs=1, lr=1e-3, log_every=40, checkpoint_every=0)
    G = train(config, halves(40 * 32, seed=0)).G
    real = halves(400, seed=1)
    classifier = LogisticRegression(max_iter=500).fit(real.images.reshape(400, -1).numpy() / 255, real.labels.numpy())
    asked = torch.arange(2).repeat_interleave(50)
    samples = (generate(G, torch.randn(100, 16, generator=seeded(0)), asked) + 1) / 2
    recognised = classifier.predict(samples.reshape(100, -1).numpy()) == asked.numpy()
    assert recognised.reshape(2, 50).mean(1).min() > 0.85, recognised.reshape(2, 50).mean(1)


def test_a_conditional_run_records_its_classes_and_resumes(tmp_path):
    data = blobs(128)
    run = train(tiny_config(tmp_path, conditional=True, epochs=1), data)
    ckpt = load_checkpoint(run.run_dir)
    assert ckpt.spec.num_classes == 2 and ckpt.class_names == ["small", "large"]
    assert ckpt.meta["config"]["conditional"] is True
    resumed = resume(run.run_dir, data=data, epochs=2)
    assert resumed.step == 8 and resumed.G.spec.num_classes == 2
    assert resumed.run.epoch_samples(2).is_file()


def test_conditional_training_refuses_data_without_labels(tmp_path):
    unlabelled = ImageData(blobs(64).images, source="unlabelled blobs")
    with pytest.raises(DCGANError, match="needs labelled data, but unlabelled blobs has no labels"):
        Trainer(tiny_config(tmp_path, conditional=True), unlabelled, tmp_path / "run")
    one_class = ImageData(blobs(64).images, torch.zeros(64, dtype=torch.long), ["only"], "one class")
    with pytest.raises(DCGANError, match="two or more classes, but the data has 1"):
        Trainer(tiny_config(tmp_path, conditional=True), one_class, tmp_path / "run")


def test_checkpoints_from_before_conditioning_still_load_sample_and_resume(tmp_path):
    """A checkpoint written before num_classes, class_names and conditional existed: no such keys at all."""
    data = blobs(64)
    run = train(tiny_config(tmp_path, epochs=1), data)
    path = run.run.last_checkpoint
    tensors, meta = load_tensors(path, "is not a checkpoint", "")
    assert "num_classes" not in meta["model"]  # unconditional specs are written as before
    del meta["class_names"], meta["config"]["conditional"]
    save_tensors(path, tensors, meta)
    ckpt = load_checkpoint(path)
    assert ckpt.spec.num_classes == 0 and ckpt.class_names == []
    z = torch.randn(3, 16, generator=seeded(0))
    assert torch.equal(generate(ckpt.network("G"), z), generate(run.G, z))
    assert resume(run.run_dir, data=data, epochs=2).step == 4
