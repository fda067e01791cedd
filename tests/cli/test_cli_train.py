"""The command line: every subcommand end to end, and one clear line for bad input."""

import argparse
import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from conftest import write_images
from dcgan.cli import main
from dcgan.cli.main import SUBCOMMANDS, build_parser
from dcgan.errors import DCGANError

TINY = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "16", "--sample-count", "4", "--no-progress"]
TINY += ["--precision", "fp32"]  # not auto: its timing probe could choose bf16 on one machine, fp32 on another


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_images(root / "imgs", [(f"{c}/{i}.png", "RGB", (24, 20)) for c in "ab" for i in range(16)])
    run = root / "run"
    assert (
        main(["train", "--data", str(root / "imgs"), "--resolution", "16", "--epochs", "1", "--out", str(run), *TINY])
        == 0
    )
    return run


def test_train_writes_a_complete_run(trained_run):
    config = json.loads((trained_run / "config.json").read_text())
    assert config["resolution"] == 16 and config["channels"] == 3 and config["g_width"] == 8 and config["epochs"] == 1
    assert len((trained_run / "metrics.jsonl").read_text().splitlines()) == 2  # 32 images / 16 per batch
    assert (trained_run / "samples" / "epoch_0001.png").is_file()


def test_resume_continues_and_refuses_changed_options(trained_run, tmp_path, capsys):
    run = shutil.copytree(trained_run, tmp_path / "run")  # resume a copy: the shared run stays as trained
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("data: 32 images, 16x16 RGB (centre square crop), from ")
    assert out[1:3] == ["  2 classes: a 16, b 16", f"  run folder: {run}"]
    assert out[3] == "training 4 steps = 2 epochs of 2 steps = 64 images seen (batch 16), resuming at step 2"
    assert out[4].startswith("hint: 4 steps is far shorter than DCGANs usually need")
    assert out[5] == "precision: fp32 (as asked)"  # kept from the run's config
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 4
    assert len((trained_run / "metrics.jsonl").read_text().splitlines()) == 2
    capsys.readouterr()
    assert main(["info", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["step"] == 4 and info["epochs_completed"] == 2  # info reports the resumed progress
    assert main(["train", "--resume", str(run), "--epochs", "3", "--lr", "0.1"]) == 2
    assert "cannot change --lr" in capsys.readouterr().err


def test_sample_grid_and_separate_files(trained_run, tmp_path):
    assert (
        main(["sample", "--checkpoint", str(trained_run), "-n", "6", "--nrow", "3", "-o", str(tmp_path / "g.png")]) == 0
    )
    grid = Image.open(tmp_path / "g.png")
    assert grid.size == (2 + 3 * 18, 2 + 2 * 18) and grid.mode == "RGB"
    ckpt_file = trained_run / "checkpoints" / "last.safetensors"
    assert main(["sample", "--checkpoint", str(ckpt_file), "-n", "3", "--separate", "-o", str(tmp_path / "each")]) == 0
    files = sorted((tmp_path / "each").iterdir())
    assert [f.name for f in files] == ["sample_0000.png", "sample_0001.png", "sample_0002.png"]
    assert Image.open(files[0]).size == (16, 16)
    # same seed, same images; another seed, other images
    main(["sample", "--checkpoint", str(trained_run), "-n", "6", "--nrow", "3", "-o", str(tmp_path / "g2.png")])
    main(
        [
            "sample",
            "--checkpoint",
            str(trained_run),
            "-n",
            "6",
            "--nrow",
            "3",
            "--seed",
            "1",
            "-o",
            str(tmp_path / "g3.png"),
        ]
    )
    assert (tmp_path / "g.png").read_bytes() == (tmp_path / "g2.png").read_bytes()
    assert (tmp_path / "g.png").read_bytes() != (tmp_path / "g3.png").read_bytes()


def test_info_shows_the_data_summary_and_where_in_training(trained_run, capsys):
    assert main(["info", str(trained_run)]) == 0
    out = capsys.readouterr().out
    assert "data: 32 images, 16x16 RGB" in out and "2 classes: a 16, b 16" in out
    assert f"run folder: {trained_run}" in out and "position: end of epoch 1" in out


def test_info_reports_progress_and_parameters(trained_run, capsys):
    assert main(["info", str(trained_run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["step"] == 2 and info["epochs_completed"] == 1  # the run as trained: 32 images / batch 16, one epoch
    assert info["model"] == {"resolution": 16, "channels": 3, "nz": 8, "g_width": 8, "d_width": 8}
    # G: 8->16 (4x4), 16->8 (8x8 ... ), 8->3; weights + BatchNorm scale/shift
    assert info["parameters"]["generator"] == 8 * 16 * 16 + 2 * 16 + 16 * 8 * 16 + 2 * 8 + 8 * 3 * 16
    assert main(["info", str(trained_run)]) == 0
    assert "parameters:" in capsys.readouterr().out


BAD_INPUTS = [
    (["train", "--resolution", "48"], "resolution 48 is not supported"),
    (["train", "--data", "/no/such/folder"], "does not exist"),
    (["train", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "--resume", "/no/such/run"], "does not exist"),
    (["sample", "--checkpoint", "/no/such.safetensors"], "does not exist"),
    (["info", "/no/such/run"], "does not exist"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUTS)
def test_bad_input_gives_one_clear_error(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_empty_folder_and_run_without_checkpoint(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--data", str(tmp_path / "empty")]) == 2
    assert "no image files found" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every registered command's parser, by its name (aliases left out)."""
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {choice.dest: sub.choices[choice.dest] for choice in sub._choices_actions}


def test_help_for_every_command(capsys):
    """Each command's --help exits 0 with its usage and every option it documents (a help text argparse cannot
    format, such as a bare '%', fails here rather than in a user's terminal)."""
    commands = subcommands()
    assert len(commands) == len(SUBCOMMANDS) and {"train", "serve", "export", "train-classifier"} <= set(commands)
    for name, parser in commands.items():
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        printed = capsys.readouterr().out
        assert exit_.value.code == 0 and printed.startswith(f"usage: dcgan {name} "), name
        options = [o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings]
        assert len(options) > 1 and all(option in printed for option in options), name  # more than -h alone


def test_a_damaged_recipe_config_in_the_install_is_one_line_not_a_traceback(capsys, monkeypatch):
    """The help states each recipe's hours from the package's config files, so every command reads them when its
    parser is built: a file there that is not a training config stops every command with one line."""
    import dcgan.cli.reproduce as cli_reproduce

    def damaged(r, scale):
        raise DCGANError(f"config configs/{r.name}/{scale}/boxes.json: unknown option 'object'", "reinstall dcgan")

    monkeypatch.setattr(cli_reproduce, "estimate_hours", damaged)
    assert main(["sample", "--help"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dcgan: error: config configs/mnist/cpu/boxes.json: unknown option 'object'")
    assert "reinstall dcgan" in err and "Traceback" not in err


def test_python_dash_m_and_help():
    result = subprocess.run([sys.executable, "-m", "dcgan", "--help"], capture_output=True, text=True, check=True)
    assert "usage: dcgan" in result.stdout and all(name in result.stdout for name in subcommands())
    train_help = subprocess.run(
        [sys.executable, "-m", "dcgan", "train", "--help"], capture_output=True, text=True
    ).stdout
    for flag in (
        "--data",
        "--resolution",
        "--channels",
        "--preset",
        "--epochs",
        "--batch-size",
        "--seed",
        "--out",
        "--resume",
        "--noise",
    ):
        assert flag in train_help
    bad = subprocess.run(
        [sys.executable, "-m", "dcgan", "train", "--resolution", "100"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "power of two" in bad.stderr


def test_the_package_and_the_parser_load_no_library_that_only_some_commands_use():
    """scikit-learn, scipy and matplotlib would add about 2 s to every command's start-up (docs/benchmarks.md,
    "Start-up"): an experiment or a chart loads them when it first needs them."""
    code = (
        "import sys\n"
        "from dcgan.cli.main import main\n"
        "for argv in (['--version'], ['--help'], ['train', '--help'], ['sample', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('loaded:', sorted({name.split('.')[0] for name in sys.modules} & {'sklearn', 'scipy', 'matplotlib'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "loaded: []"


def test_a_reader_that_goes_away_is_not_a_traceback(tmp_path):
    """``dcgan reproduce mnist --plan | head -1``: output into a pipe whose reader has gone ends the command
    quietly, exit 0, without a BrokenPipeError traceback."""
    from conftest import SHARED_DATA

    argv = [sys.executable, "-m", "dcgan", "reproduce", "mnist", "--plan", "--out", str(tmp_path / "results")]
    child = subprocess.Popen([*argv, "--data-root", str(SHARED_DATA)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # gone before the command writes a line
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err
