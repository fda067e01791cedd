"""``dcgan train --config FILE``: a JSON file of TrainConfig options, checked key by key, flags on top."""

from __future__ import annotations

import json

import pytest

from conftest import tiny_config
from dcgan import load_checkpoint
from dcgan.cli import main
from dcgan.errors import DCGANError
from dcgan.training.options_file import config_from, read_options, write_options


def _file(tmp_path, values) -> str:
    path = tmp_path / "options.json"
    path.write_text(values if isinstance(values, str) else json.dumps(values))
    return str(path)


def test_file_options_and_flags_on_top(tmp_path):
    path = _file(tmp_path, {"epochs": 3, "batch_size": 32, "lr": 1, "where": None})
    config = config_from(path, batch_size=16)
    assert (config.epochs, config.batch_size, config.lr, config.beta1) == (3, 16, 1, 0.5)  # the rest: defaults


def test_a_runs_own_config_json_is_a_config_file(tmp_path):
    config = tiny_config(tmp_path)
    config.save(tmp_path / "config.json")
    assert config_from(tmp_path / "config.json") == config


def test_write_then_read_round_trips(tmp_path):
    values = {"epochs": 2, "preset": "paper", "precision": "bf16"}
    assert read_options(write_options(tmp_path / "c.json", values)) == values


@pytest.mark.parametrize(
    ("values", "problem", "fix"),
    [
        ({"epoch": 3}, "unknown option 'epoch'", "did you mean 'epochs'?"),
        ({"batch-size": 3}, "unknown option 'batch-size'", "did you mean 'batch_size'?"),
        ({"epochs": "5"}, 'epochs must be a whole number, not "5"', '"epochs": 5'),
        ({"epochs": 2.5}, "epochs must be a whole number", '"epochs": 5'),
        ({"channels_last": 1}, "channels_last must be true or false", '"channels_last": true'),
        ({"lr": None}, "lr cannot be null", "leave lr out"),
        ({"preset": "huge"}, 'preset is "huge", not one of its choices', '"paper"'),
        ({"epochs": 0}, "epochs must be at least 1", None),
        ([1, 2], "is not a JSON object of options", '{"epochs": 5'),
        ('{"epochs": 5,}', "is not valid JSON", '{"epochs": 5'),
    ],
)
def test_bad_files_name_the_key_and_the_fix(tmp_path, values, problem, fix):
    with pytest.raises(DCGANError) as caught:
        config_from(_file(tmp_path, values))
    assert problem in caught.value.problem and "options.json" in caught.value.problem
    assert fix is None or fix in caught.value.fix


def test_missing_file(tmp_path):
    with pytest.raises(DCGANError, match="cannot read config"):
        read_options(tmp_path / "nope.json")


def test_cli_reads_the_file_and_flags_override_it(tmp_path):
    values = tiny_config(tmp_path).to_dict() | {"epochs": 5, "limit": 64, "out": str(tmp_path / "from-file")}
    path = _file(tmp_path, values)
    assert main(["train", "--config", path, "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    saved = config_from(tmp_path / "run" / "config.json")  # a run's own config.json reads back as its config
    assert (saved.epochs, saved.limit, saved.g_width) == (1, 64, 8)
    assert saved.to_dict() == load_checkpoint(tmp_path / "run").meta["config"]
    assert not (tmp_path / "from-file").exists()


def test_cli_bad_file_is_one_line(tmp_path, capsys):
    assert main(["train", "--config", _file(tmp_path, {"epohcs": 1})]) == 2
    err = capsys.readouterr().err
    assert "unknown option 'epohcs'" in err and "did you mean 'epochs'" in err and "Traceback" not in err
    assert main(["train", "--config", _file(tmp_path, {}), "--resume", str(tmp_path)]) == 2
    assert "drop one" in capsys.readouterr().err
