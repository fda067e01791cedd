"""TrainConfig: data options checked when it is made, and fitted to the data it trains on."""

import pytest

from conftest import blobs, tiny_config
from dcgan import DCGANError, SourceOptions, TrainConfig, train


def test_fitted_to_fills_what_the_config_leaves_to_the_data():
    config = TrainConfig(nz=8, g_width=4, d_width=4)
    fitted = config.fitted_to(32, 3)
    assert (fitted.resolution, fitted.channels) == (32, 3) and fitted.model_spec().resolution == 32
    assert (config.resolution, config.channels) == (None, None)  # a new config; the original is left alone
    assert fitted == config.updated(resolution=32, channels=3)
    partial = TrainConfig(channels=1).fitted_to(64, 1)
    assert (partial.resolution, partial.channels) == (64, 1)
    exact = TrainConfig(resolution=16, channels=1)
    assert exact.fitted_to(16, 1) == exact


def test_fitted_to_refuses_data_of_another_size_or_channels():
    with pytest.raises(DCGANError, match="the config asks for resolution 32, but the data has 16"):
        TrainConfig(resolution=32).fitted_to(16, 1)
    with pytest.raises(DCGANError, match="the config asks for channels 3, but the data has 1"):
        TrainConfig(channels=3).fitted_to(16, 1)


def test_training_on_data_of_another_resolution_is_refused_before_writing(tmp_path):
    with pytest.raises(DCGANError, match="resolution 32"):
        train(tiny_config(tmp_path, resolution=32), blobs(64))  # the blobs are 16x16
    assert not (tmp_path / "run").exists()


def test_data_options_are_checked_when_the_config_is_made():
    with pytest.raises(DCGANError, match="resolution 48 is not supported"):  # the networks need a power of two
        TrainConfig(resolution=48)
    with pytest.raises(DCGANError, match="cannot read --where term 'Smiling=2'"):
        TrainConfig(where="Smiling=2")
    with pytest.raises(DCGANError, match="--limit must be at least 1"):
        TrainConfig(limit=0)
    with pytest.raises(DCGANError, match="channels must be 1 or 3"):
        TrainConfig(channels=2)
    config = TrainConfig(resolution=32, where="Smiling=1", limit=5, split="test")
    assert config.source_options() == SourceOptions(resolution=32, where="Smiling=1", limit=5, split="test")
