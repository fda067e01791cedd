"""The conditional commands end to end: train --conditional, sample --class, nn-protocol, and their errors."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import write_images
from dcgan.cli import main

TINY = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "16", "--sample-count", "4", "--no-progress"]
TINY += ["--precision", "fp32"]  # not auto: its timing probe could choose bf16 on one machine, fp32 on another


def write_classes(folder, per_class: int, seed: int) -> None:
    """Class folders of 16x16 greyscale images: 'bottom' lit below, 'top' lit above."""
    rng = np.random.default_rng(seed)
    for name, rows in (("bottom", slice(8, 16)), ("top", slice(0, 8))):
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 40, (16, 16)).astype(np.uint8)
            image[rows] = rng.integers(150, 256)
            Image.fromarray(image).save(folder / name / f"{i}.png")


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("conditional")
    write_classes(root / "train", 16, seed=0)
    write_classes(root / "test", 5, seed=1)
    run = root / "run"
    argv = ["train", "--conditional", "--data", str(root / "train"), "--epochs", "1", "--out", str(run), *TINY]
    assert main(argv) == 0
    return root


def test_sample_draws_one_class_or_one_row_per_class(conditional_run, tmp_path):
    run = str(conditional_run / "run")
    assert main(["sample", "--checkpoint", run, "-n", "6", "-o", str(tmp_path / "rows.png")]) == 0
    assert Image.open(tmp_path / "rows.png").size == (2 + 3 * 18, 2 + 2 * 18)  # 2 classes: two rows of 3
    for wanted in ("top", "1"):
        out = tmp_path / f"{wanted}.png"
        assert main(["sample", "--checkpoint", run, "-n", "3", "--class", wanted, "--separate", "-o", str(out)]) == 0
    by_name = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "top.png").iterdir())]
    by_index = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "1.png").iterdir())]
    assert len(by_name) == 3 and all(np.array_equal(a, b) for a, b in zip(by_name, by_index, strict=True))
    bottom = tmp_path / "bottom"
    assert main(["sample", "--checkpoint", run, "-n", "3", "--class", "bottom", "--separate", "-o", str(bottom)]) == 0
    assert not np.array_equal(np.asarray(Image.open(bottom / "sample_0000.png")), by_name[0])


def test_nn_protocol_reports_generated_and_real_rows(conditional_run, tmp_path, capsys):
    out = tmp_path / "nn.json"
    argv = ["nn-protocol", "--checkpoint", str(conditional_run / "run"), "--data", str(conditional_run / "train")]
    assert main([*argv, "--test-data", str(conditional_run / "test"), "-n", "4,32", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1-NN test error on 10 real test images" in printed and "| N = 4 | N = 32 |" in printed
    report = json.loads(out.read_text())
    assert report["test_size"] == 10 and report["class_names"] == ["bottom", "top"]
    assert [(row["source"], row["n"]) for row in report["rows"]] == [
        ("DCGAN samples", 4),
        ("DCGAN samples", 32),
        ("real training images", 4),
        ("real training images", 32),
    ]
    assert report["rows"][3]["test_error"] == 0.0  # the halves are apart: all 32 real images classify the test set
    assert all(0 <= row["test_error"] <= 1 for row in report["rows"])


@pytest.fixture(scope="module")
def unconditional_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("unconditional")
    write_images(root / "flat", [(f"{i}.png", "L", (16, 16)) for i in range(16)])
    run = root / "run"
    assert main(["train", "--data", str(root / "flat"), "--epochs", "1", "--out", str(run), *TINY]) == 0
    return root


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "--checkpoint", "{conditional}/run", "--class", "2"], "no class '2' in this model"),
        (["sample", "--checkpoint", "{conditional}/run", "--class", "left"], "one of bottom, top"),
        (["sample", "--checkpoint", "{unconditional}/run", "--class", "1"], "this generator is not class-conditional"),
        (["nn-protocol", "--checkpoint", "{unconditional}/run", "--data", "{conditional}/train"], "an unconditional"),
        (
            ["nn-protocol", "--checkpoint", "{conditional}/run", "--data", "{conditional}/train", "-n", "x"],
            "not a list",
        ),
        (["nn-protocol", "--checkpoint", "{conditional}/run", "--data", "{conditional}/train"], "than the 32 real"),
        (["nn-protocol", "--checkpoint", "{conditional}/run", "--data", "{conditional}/test"], "the test split of"),
        (["train", "--conditional", "--data", "{unconditional}/flat", "--epochs", "1"], "needs labelled data"),
    ],
)
def test_conditional_mistakes_give_one_clear_error(argv, message, conditional_run, unconditional_run, tmp_path, capsys):
    paths = {"conditional": conditional_run, "unconditional": unconditional_run}
    output = ["-o", str(tmp_path / "x.png")] if argv[0] == "sample" else ["--out", str(tmp_path / "x")]
    argv = [a.format(**paths) for a in argv] + output
    if argv[0] == "nn-protocol":
        argv = argv[:-2]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
