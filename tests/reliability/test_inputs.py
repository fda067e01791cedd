"""Hardened inputs: pytorch/examples .pth files without pickle, damaged checkpoints named, every CLI
argument checked with a clear message before any work (docs/reliability.md)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
import torch

from conftest import blobs, tiny_config, write_images
from dcgan import DCGANError, Discriminator, Generator, load_checkpoint, load_dataset, resume, train
from dcgan.cli import main
from dcgan.core.checkpoints import FORMAT
from dcgan.core.models import ModelSpec
from dcgan.core.tensorfile import save_tensors


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    trainer = train(tiny_config(tmp_path_factory.mktemp("inputs"), epochs=1), blobs(64), callbacks=[])
    return trainer.run.root


def _as_pytorch_examples(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The same tensors under pytorch/examples' names (``main.<layer>.<name>``): matched by position."""
    return {f"main.{i}.{name.rsplit('.', 1)[-1]}": v.clone() for i, (name, v) in enumerate(net.state_dict().items())}


def test_pytorch_examples_netg_and_netd_load_into_our_networks(tmp_path):
    torch.manual_seed(1)
    spec = ModelSpec(resolution=32, channels=3, nz=10, g_width=8, d_width=8)
    for net, prefix in ((Generator(spec), "G"), (Discriminator(spec), "D")):
        path = tmp_path / f"net{prefix}_epoch_24.pth"
        torch.save(_as_pytorch_examples(net), path)
        ckpt = load_checkpoint(path)
        assert ckpt.spec.resolution == 32 and ckpt.spec.channels == 3
        loaded = ckpt.network(prefix)
        assert all(
            torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values(), strict=True)
        )
        x = torch.randn(2, 10, 1, 1) if prefix == "G" else torch.rand(2, 3, 32, 32)
        assert torch.allclose(loaded(x), net.eval()(x), atol=1e-6)  # the same network, in eval mode
    assert main(["info", str(tmp_path / "netG_epoch_24.pth")]) == 0


class _RunsCode:
    """A pickle that, unpickled by plain torch.load, would create a file: proof of code execution."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_that_would_run_code_is_refused_and_never_runs(tmp_path, capsys):
    marker, path = tmp_path / "ran", tmp_path / "netG.pth"
    torch.save({"main.0.weight": torch.zeros(1), "payload": _RunsCode(marker)}, path)
    assert main(["sample", "--checkpoint", str(path), "-o", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert f"{path} cannot be read as plain weights" in err and "could run code" in err and "Traceback" not in err
    assert not marker.exists()


def test_a_pth_of_the_wrong_shapes_or_contents_is_refused(tmp_path):
    torch.save({"a": torch.zeros(3)}, tmp_path / "tiny.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(DCGANError, match="does not hold a DCGAN generator"):
        load_checkpoint(tmp_path / "tiny.pth")
    with pytest.raises(DCGANError, match="holds no state_dict of tensors"):
        load_checkpoint(tmp_path / "list.pth")


def _damaged_copies(run: Path, folder: Path) -> dict[str, Path]:
    last = run / "checkpoints" / "last.safetensors"
    data = last.read_bytes()
    folder.mkdir()
    copies = {"truncated": data[: len(data) // 2], "header only": data[:8], "empty": b"", "noise": os.urandom(4096)}
    copies["huge header"] = struct.pack("<Q", 2**40) + data[8:]
    paths = {}
    for name, content in copies.items():
        paths[name] = folder / f"{name.replace(' ', '_')}.safetensors"
        paths[name].write_bytes(content)
    ckpt = load_checkpoint(run)
    incomplete = {k: v for k, v in ckpt.meta.items() if k not in ("step", "opt_g")}  # the right tag, keys missing
    paths["missing keys"] = save_tensors(folder / "missing.safetensors", ckpt.tensors, {**incomplete, "format": FORMAT})
    return paths


@pytest.mark.parametrize("command", ["info {}", "sample --checkpoint {} -o {out}/g.png", "features --checkpoint {}"])
def test_every_command_names_a_damaged_checkpoint(run, tmp_path, capsys, command):
    for name, path in _damaged_copies(run, tmp_path / "damaged").items():
        argv = command.format(path, out=tmp_path).split()
        if argv[0] == "features":
            argv += ["--data", str(tmp_path), "-o", str(tmp_path / "f.npy")]
        assert main(argv) == 2, name
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2, (name, err)


def test_resume_of_a_damaged_run_names_the_file(run, tmp_path, capsys):
    damaged = tmp_path / "copy"
    (damaged / "checkpoints").mkdir(parents=True)
    good = (run / "checkpoints" / "last.safetensors").read_bytes()
    (damaged / "checkpoints" / "last.safetensors").write_bytes(good[: len(good) // 3])
    assert main(["train", "--resume", str(damaged), "--epochs", "2"]) == 2
    assert str(damaged / "checkpoints" / "last.safetensors") in capsys.readouterr().err
    assert main(["train", "--resume", str(run / "checkpoints" / "last.safetensors")]) == 2
    assert f"here probably {run}" in capsys.readouterr().err  # a file given as the folder: says which folder


def test_a_partial_last_metrics_line_does_not_stop_a_resume(tmp_path):
    data = blobs(64)
    trainer = train(tiny_config(tmp_path, epochs=1, log_every=1), data, callbacks=[])
    with trainer.run.metrics.open("a") as fh:
        fh.write('{"step": 3, "epoch": 2, "loss_d": 0.')  # a crash in the middle of an append
    resumed = resume(trainer.run_dir, data=data, epochs=2, callbacks=[])
    rows = resumed.run.read_metrics()
    assert [row["step"] for row in rows] == [1, 2, 3, 4] and resumed.run.metrics.read_text().endswith("}\n")


@pytest.mark.parametrize(
    "argv, message",
    [
        ("sample --checkpoint RUN --seed 99999999999999999999999", "--seed: 99999999999999999999999 is out of range"),
        ("sample --checkpoint RUN -n 1000000000", "-n/--num: 1000000000 is out of range"),
        ("sample --checkpoint RUN -n 0", "-n/--num: 0 is out of range"),
        ("sample --checkpoint RUN --nrow -1", "--nrow: -1 is out of range"),
        ("sample --checkpoint RUN --nrow 0", "--nrow: 0 is out of range"),
        ("sample --checkpoint RUN --seed x", "--seed: 'x' is not an integer"),
        ("train --save-every-minutes nan --out OUT", "--save-every-minutes must be a finite number"),
        ("train --save-every-minutes inf --out OUT", "--save-every-minutes must be a finite number"),
        ("train --seed -1 --out OUT", "--seed"),
        ("sample --checkpoint RUN -o grid.xyz", "unknown suffix '.xyz'"),
        ("sample --checkpoint RUN -o /dev/full", "cannot write an image to /dev/full"),
        ("sample --checkpoint RUN -n 5000", "a grid of 5,000 images is too large"),
        ("interpolate --checkpoint RUN --seed 4294967296", "--seed: 4294967296 is out of range"),
        (
            "prepare /nonexistent -o OUT",
            "fix: check the path, or name a downloaded set (mnist",
        ),  # prepare has no --data
    ],
)
def test_bad_arguments_are_one_clear_line_before_any_work(run, tmp_path, capsys, argv, message):
    argv = argv.replace("RUN", str(run)).replace("OUT", str(tmp_path / "out")).split()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage error
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before the run folder was made


def test_sample_into_a_read_only_folder_is_refused_before_generating(run, tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    assert main(["sample", "--checkpoint", str(run), "-o", str(folder / "g.png")]) == 2
    assert "cannot write into" in capsys.readouterr().err


def test_a_symlink_out_of_the_dataset_folder_is_refused(tmp_path):
    folder = tmp_path / "images"
    write_images(folder, [("a/0.png", "L", (16, 16)), ("a/1.png", "L", (16, 16))])
    assert len(load_dataset(folder)) == 2
    (folder / "a" / "inside.png").symlink_to(folder / "a" / "0.png")  # a link within the folder is fine
    assert len(load_dataset(folder)) == 3
    write_images(tmp_path / "elsewhere", [("secret.png", "L", (16, 16))])
    (folder / "a" / "outside.png").symlink_to(tmp_path / "elsewhere" / "secret.png")
    with pytest.raises(DCGANError, match=r"holds 1 link\(s\) to files outside it .*outside.png"):
        load_dataset(folder)
