"""The FID Inception-v3 built here: the reference file's names and shapes, its input convention, and the errors
a user meets without the weights. Random weights only: the real file is never downloaded by the tests."""

import pytest
import torch
import torch.nn.functional as F

from dcgan import DCGANError
from dcgan.metrics import inception
from dcgan.metrics.inception import FIDInception, default_weights_path, inception_extractor, to_inception_input

# A sample of pt_inception-2015-12-05-6726825d.pth's entries (name: shape), written out from the reference
# architecture: the stem, each kind of mixed block, the FID variant's last block and the 1008-way logits.
REFERENCE_SHAPES = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Conv2d_2b_3x3.conv.weight": (64, 32, 3, 3),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
    "Mixed_7a.branch7x7x3_4.conv.weight": (192, 192, 3, 3),
    "Mixed_7b.branch3x3dbl_1.conv.weight": (448, 1280, 1, 1),
    "Mixed_7c.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
    "Mixed_7c.branch_pool.bn.bias": (192,),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A state dict of the reference layout with random weights, saved as the reference file is (torch.save)."""
    torch.manual_seed(1)
    net = FIDInception()
    for module in net.modules():  # non-trivial BatchNorm statistics, so loading them is visible
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("inception") / inception.WEIGHTS_NAME
    torch.save(net.state_dict(), path)
    return path


def test_the_network_has_the_reference_names_and_shapes():
    state = FIDInception().state_dict()
    for name, shape in REFERENCE_SHAPES.items():
        assert tuple(state[name].shape) == shape, name
    convs = [m for m in FIDInception().modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 94  # Inception-v3 without its auxiliary head
    # torchvision's inception_v3 has 27,161,264 parameters; less its auxiliary head (3,326,696) and with 1008
    # instead of 1000 logits (+8 x 2049): the FID network
    assert sum(p.numel() for p in FIDInception().parameters()) == 27_161_264 - 3_326_696 + 8 * 2049


def test_loads_a_reference_state_dict_and_gives_2048_features(weights_file, monkeypatch):
    net = inception.load_inception(weights_file)
    saved = torch.load(weights_file, weights_only=True)
    assert not net.training
    for name, value in net.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            assert torch.equal(value, saved[name]), name
    monkeypatch.setattr(inception, "SIZE", 75)  # the smallest input the network takes: 16x less work than 299
    extractor = inception_extractor(weights_file)
    grey = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    feats = extractor.fn(grey)
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all() and (feats >= 0).all()  # pooled ReLUs
    assert (feats[0] - feats[1]).abs().max() > 0  # different images, different features
    assert "pt_inception-2015-12-05" in extractor.name


def test_input_convention_is_the_references():
    """The reference scales pixels to [0, 1], resizes to 299 (bilinear), then maps to 2x - 1."""
    batch = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    reference = F.interpolate(batch.float() / 255, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
    got = to_inception_input(batch)
    assert got.shape == (3, 3, 299, 299)
    assert torch.allclose(got, reference, atol=1e-5)
    assert got.min() >= -1 and got.max() <= 1
    grey = batch[:, :1]
    assert torch.equal(to_inception_input(grey), to_inception_input(grey.expand(-1, 3, -1, -1)))  # grey read as RGB


def test_missing_weights_say_where_to_put_them(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the tests must never download")

    monkeypatch.setattr("urllib.request.urlretrieve", no_network)
    with pytest.raises(DCGANError) as err:
        inception.load_inception()
    message = str(err.value)
    assert str(default_weights_path()) in message and inception.WEIGHTS_NAME in message
    assert "--download-inception" in message and "train-classifier" in message


def test_a_wrong_file_is_a_clear_error(tmp_path, weights_file):
    text = tmp_path / "notes.pth"
    text.write_text("not weights")
    with pytest.raises(DCGANError, match=r"cannot read .* as Inception weights"):
        inception.load_inception(text)
    state = torch.load(weights_file, weights_only=True)
    del state["Mixed_7c.branch_pool.conv.weight"]
    state["fc.weight"] = state["fc.weight"][:1000]
    partial = tmp_path / "partial.pth"
    torch.save(state, partial)
    with pytest.raises(DCGANError, match="does not hold the FID Inception weights"):
        inception.load_inception(partial)
