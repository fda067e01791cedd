"""The data commands end to end: dcgan prepare, then train on the prepared set."""

import json

from conftest import write_images
from dcgan.cli import main

TINY = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "4", "--sample-count", "4", "--no-progress"]
TINY += ["--precision", "fp32"]  # not auto: its timing probe could choose bf16 on one machine, fp32 on another


def test_cli_prepare_then_train(tmp_path, capsys):
    write_images(tmp_path / "imgs", [(f"{c}/{i}.png", "RGB", (24, 20)) for c in "ab" for i in range(4)])
    assert (
        main(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "set"), "--resolution", "16", "--no-progress"])
        == 0
    )
    assert "prepared 8 images (3x16x16) into" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "set"), "--epochs", "1", "--out", str(run), *TINY]) == 0
    assert json.loads((run / "config.json").read_text())["resolution"] == 16
    assert main(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "set"), "--resolution", "100"]) == 2
    assert "power of two" in capsys.readouterr().err
