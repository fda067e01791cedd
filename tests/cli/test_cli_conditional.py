"""The conditional commands end to end: train --conditional, sample --class, nn-protocol, the latent and inside
commands with --class (each image G(z, label) of the class asked for), and their errors."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import write_images
from dcgan import load_checkpoint, load_generator
from dcgan.cli import main
from dcgan.core.images import make_grid
from dcgan.core.sampling import generate
from dcgan.experiments.arithmetic import arithmetic_experiment
from dcgan.experiments.features import load_images_for
from dcgan.experiments.forgetting import forgetting_experiment, load_boxes
from dcgan.experiments.latent import load_z, load_z_meta
from dcgan.experiments.memorisation import memorisation_check

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


def drawn(run, z: torch.Tensor, label: int) -> torch.Tensor:
    """G(z, label) for every z, the run's G given the label itself: what a figure of one class shows."""
    return generate(load_generator(run), z, torch.full((len(z),), label))


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_interpolate_walks_at_the_given_class(conditional_run, tmp_path, capsys):
    run = conditional_run / "run"
    argv = ["interpolate", "--checkpoint", str(run), "--points", "3", "--steps", "4"]
    assert main([*argv, "--class", "top", "-o", str(tmp_path / "top.png")]) == 0
    z = load_z(tmp_path / "top.safetensors")
    assert z.shape == (8, 8) and load_z_meta(tmp_path / "top.safetensors")["label"] == 1
    assert np.array_equal(pixels(tmp_path / "top.png"), make_grid(drawn(run, z, 1), 4)[..., 0])
    assert Image.open(tmp_path / "top.gif").n_frames == 7
    assert main([*argv, "--class", "0", "-o", str(tmp_path / "bottom.png")]) == 0
    assert torch.equal(load_z(tmp_path / "bottom.safetensors"), z)  # the same walk, another class
    assert np.array_equal(pixels(tmp_path / "bottom.png"), make_grid(drawn(run, z, 0), 4)[..., 0])


@pytest.fixture(scope="module")
def top_sheet(conditional_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("sheet") / "sheet.png"
    argv = ["sample", "--checkpoint", str(conditional_run / "run"), "--sheet", "--class", "top", "-n", "8"]
    assert main([*argv, "-o", str(out)]) == 0
    sheet = out.with_suffix(".safetensors")
    assert load_z_meta(sheet)["label"] == 1
    return sheet


def test_arithmetic_and_direction_draw_the_given_class(conditional_run, top_sheet, tmp_path):
    run = conditional_run / "run"
    concepts = {"A": f"{top_sheet}#0,1", "B": f"{top_sheet}#2", "C": f"{top_sheet}#3,4"}
    argv = ["arithmetic", "A - B + C", "--checkpoint", str(run), "--class", "top", "--noise-samples", "3"]
    argv += [f"--concept={name}={cells}" for name, cells in concepts.items()]
    assert main([*argv, "-o", str(tmp_path / "a.png")]) == 0
    G = load_generator(run)
    expected = arithmetic_experiment(G, "normal", "A - B + C", concepts, n=3, label=1).figure.convert("RGB")
    assert np.array_equal(pixels(tmp_path / "a.png"), np.asarray(expected))
    assert load_z_meta(tmp_path / "a.safetensors")["label"] == 1

    argv = ["direction", "--checkpoint", str(run), "--class", "1", "--positive", concepts["A"]]
    argv += ["--negative", concepts["C"], "--strengths=-1,0,1", "-n", "2", "-o", str(tmp_path / "d.png")]
    assert main(argv) == 0
    shown = load_z(tmp_path / "d.safetensors")
    assert shown.shape == (6, 8) and np.array_equal(
        pixels(tmp_path / "d.png"), make_grid(drawn(run, shown, 1), 3)[..., 0]
    )


def test_forget_and_nearest_draw_the_given_class(conditional_run, top_sheet, tmp_path, capsys):
    run = conditional_run / "run"
    G = load_generator(run)
    (tmp_path / "boxes.json").write_text(json.dumps({"boxes": {"0": [[0, 0, 16, 8]], "5": [[0, 0, 16, 8]]}}))
    argv = ["forget", "--checkpoint", str(run), "--sheet", str(top_sheet), "--boxes", str(tmp_path / "boxes.json")]
    assert main([*argv, "--class", "top", "-o", str(tmp_path / "f.png"), "--json", str(tmp_path / "f.json")]) == 0
    assert "note:" not in capsys.readouterr().err
    expected = forgetting_experiment(G, load_z(top_sheet), load_boxes(tmp_path / "boxes.json", 8, 16), seed=1, label=1)
    assert json.loads((tmp_path / "f.json").read_text()) == json.loads(json.dumps(expected.to_dict()))
    assert torch.equal(expected.before, drawn(run, load_z(top_sheet)[[0, 5]], 1))
    assert main([*argv, "--class", "bottom", "-o", str(tmp_path / "g.png")]) == 0
    assert "the sheet was drawn at class 1; its boxes are applied to class 0" in capsys.readouterr().err

    argv = ["nearest", "--checkpoint", str(run), "--data", str(conditional_run / "train"), "--class", "top"]
    argv += ["--samples", "10", "-n", "2", "--held-out", "8", "-o", str(tmp_path / "nn.png")]
    assert main([*argv, "--json", str(tmp_path / "nn.json"), "--no-progress"]) == 0
    training = load_images_for(G.spec, conditional_run / "train").images
    D = load_checkpoint(run).network("D")
    expected = memorisation_check(G, D, training, 8, samples=10, show=2, label=1)
    written = json.loads((tmp_path / "nn.json").read_text())
    assert written == json.loads(json.dumps({"checkpoint": written["checkpoint"], **expected.to_dict()}))


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


# each command with what it needs besides --checkpoint and --class (files it reads after the class check may be absent)
NEEDS = {
    "interpolate": ["-o", "{tmp}/w.png"],
    "arithmetic": ["A", "--concept", "A={tmp}/sheet.safetensors#0", "-o", "{tmp}/a.png"],
    "direction": ["--positive", "{tmp}/s.safetensors#0", "--negative", "{tmp}/s.safetensors#1", "-o", "{tmp}/d.png"],
    "forget": ["--sheet", "{tmp}/s.safetensors", "--boxes", "{tmp}/b.json", "-o", "{tmp}/f.png"],
    "nearest": ["--data", "{tmp}/none", "-o", "{tmp}/nn.png"],
    "export": ["--format", "onnx", "-o", "{tmp}/g.onnx"],
    "serve": ["--port", "0"],
}


@pytest.mark.parametrize("command", [c for c in NEEDS if c not in ("export", "serve")])
def test_a_conditional_model_without_class_names_this_commands_class_flag(command, conditional_run, tmp_path, capsys):
    needs = [a.format(tmp=tmp_path) for a in NEEDS[command]]
    assert main([command, "--checkpoint", str(conditional_run / "run"), *needs]) == 2
    err = capsys.readouterr().err
    assert f"is a class-conditional model: dcgan {command} draws one of its 2 classes" in err
    assert "fix: pass --class with one of bottom, top (or an index from 0 to 1)" in err and "Traceback" not in err


@pytest.mark.parametrize("command", list(NEEDS))
def test_an_unconditional_model_given_a_class_is_one_clear_error(command, unconditional_run, tmp_path, capsys):
    needs = [a.format(tmp=tmp_path) for a in NEEDS[command]]
    assert main([command, "--checkpoint", str(unconditional_run / "run"), "--class", "1", *needs]) == 2
    err = capsys.readouterr().err
    if command == "serve":  # several checkpoints: the page's start class
        assert "none of the checkpoints is class-conditional" in err
    else:
        assert f"is not class-conditional: dcgan {command} --class has no class to choose" in err
    assert "fix: leave out --class" in err and "Traceback" not in err
