"""Generator-only files (``dcgan export --format safetensors``): G alone renders as the checkpoint's G, its header
says what it is, every command that reads a checkpoint for its G takes it, what needs more refuses it in one line,
and ``--pretrained NAME`` reads one shipped inside the package."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from PIL import Image

import dcgan.export
from dcgan import DCGANError, load_checkpoint, resume
from dcgan.cli import main
from dcgan.core import checkpoints
from dcgan.core.sampling import class_rows, generate, sample_noise, seeded
from dcgan.core.tensorfile import load_tensors
from dcgan.reproduce import recipe_of

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "32", "--sample-count", "4", "--no-progress"]
TINY += ["--precision", "fp32"]  # not auto: its timing probe could choose another precision elsewhere
# absolute, on images in [-1, 1]: fp16 weights (11-bit mantissa), fp32 arithmetic; under one 8-bit grey level (2/255)
# and 25 times the largest difference measured here (2e-4, the averaged G)
FP16_TOLERANCE = 5e-3


def export(checkpoint, out: Path, *options: str) -> Path:
    assert main(["export", "--checkpoint", str(checkpoint), "--format", "safetensors", "-o", str(out), *options]) == 0
    return out


def header(path: Path) -> dict:
    return load_tensors(path, "", "", names=())[1]


@pytest.fixture(scope="module")
def conditional(labelled):
    """A class-conditional run with an averaged G, on the labelled blobs (classes 'large' and 'small')."""
    run = labelled / "conditional"
    argv = ["train", "--conditional", "--ema", "0.1", "--data", str(labelled / "data" / "train"), "--resolution", "16"]
    assert main([*argv, "--epochs", "1", "--out", str(run), *TINY]) == 0
    return run


@pytest.fixture(scope="module")
def files(labelled, conditional, tmp_path_factory):
    """Generator-only files: the unconditional run's G, and the conditional run's averaged G in fp16."""
    folder = tmp_path_factory.mktemp("generator-files")
    return {
        "plain": export(labelled / "run", folder / "plain.safetensors"),
        "conditional": export(conditional, folder / "conditional.safetensors", "--dtype", "fp16"),
    }


def rendered(G, seed: int = 3) -> torch.Tensor:
    z = sample_noise(10, G.spec.nz, generator=seeded(seed))
    return generate(G, z, class_rows(10, G.spec.num_classes) if G.spec.num_classes else None)


@pytest.mark.parametrize("which", ["raw", "ema"])
def test_the_file_renders_the_checkpoints_generator(conditional, tmp_path, which):
    ckpt = load_checkpoint(conditional)
    expected = rendered(ckpt.generator(which))
    full = export(conditional, tmp_path / "g32.safetensors", "--generator", which)
    half = export(conditional, tmp_path / "g16.safetensors", "--generator", which, "--dtype", "fp16")
    assert torch.equal(rendered(load_checkpoint(full).generator()), expected)  # fp32: exactly
    stored = load_tensors(half, "", "")[0].values()
    assert {t.dtype for t in stored if t.is_floating_point()} == {torch.float16}
    from_half = load_checkpoint(half).generator()
    assert all(p.dtype == torch.float32 for p in from_half.parameters())  # fp16 weights, an fp32 network
    difference = (rendered(from_half) - expected).abs().max()
    assert 0 < difference <= FP16_TOLERANCE
    floats = sum(v.numel() for v in ckpt.part(ckpt.generator_name(which)).values() if v.is_floating_point())
    assert 0 <= full.stat().st_size - half.stat().st_size - 2 * floats <= 16  # 2 bytes less a weight; the index


def test_the_header_says_everything_needed_to_use_it(conditional, files):
    meta = header(files["conditional"])
    ckpt = load_checkpoint(conditional)
    assert meta["format"] == "dcgan-generator-1" and meta["dtype"] == "fp16"
    assert meta["model"] == ckpt.meta["model"] and meta["model"]["num_classes"] == 2
    assert meta["networks"] == ["G_ema"] and meta["generator"] == "ema"
    assert meta["noise"] == "normal" and meta["class_names"] == ["large", "small"]
    assert meta["data"] == ckpt.meta["data"] and meta["data"]["images"] == 160
    assert (meta["epoch"], meta["step"], meta["images_seen"]) == (1, 5, 160)  # 160 images, batches of 32
    assert meta["config"] == ckpt.meta["config"] and "recipe" not in meta  # a run of its own
    if (ROOT / ".git").exists():  # this package runs from a git checkout
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert meta["commit"] == head.stdout.strip()
    assert meta["version"] == dcgan.__version__
    assert header(export(files["conditional"], files["conditional"].with_name("again.safetensors"))) == meta | {
        "dtype": "fp32"
    }  # exported again: what the first export recorded stays


def test_a_recipes_training_stage_is_named_and_a_missing_commit_is_left_out(labelled, tmp_path, monkeypatch):
    results = tmp_path / "mnist-cpu"
    shutil.copytree(labelled / "run", results / "02-train" / "run")
    (results / "results.json").write_text(json.dumps({"recipe": "mnist", "scale": "cpu", "stages": []}))
    assert recipe_of(results / "02-train" / "run") == {"recipe": "mnist", "scale": "cpu", "stage": "train"}
    assert recipe_of(labelled / "run") is None

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(dcgan.export.subprocess, "run", no_git)
    meta = header(export(results / "02-train" / "run", tmp_path / "g.safetensors"))
    assert meta["recipe"] == {"recipe": "mnist", "scale": "cpu", "stage": "train"} and "commit" not in meta


def _commands(paths: dict[str, Path]) -> list[list[str]]:
    """Each command that reads a checkpoint for its G, with tiny options, writing into paths['out']."""
    out, data = paths["out"], paths["data"]
    sheet = str(out / "sheet.safetensors")
    return [
        ["sample", "--checkpoint", "{plain}", "--sheet", "-n", "8", "-o", str(out / "sheet.png")],
        ["sample", "--checkpoint", "{conditional}", "-n", "4", "--class", "small", "-o", str(out / "small.png")],
        ["interpolate", "--checkpoint", "{plain}", "--points", "2", "--steps", "3", "-o", str(out / "walk.png")],
        ["arithmetic", "--checkpoint", "{plain}", "A - B", "--concept", f"A={sheet}#0,1", "--concept", f"B={sheet}#2",
         "--noise-samples", "2", "-o", str(out / "arithmetic.png")],
        ["direction", "--checkpoint", "{plain}", "--positive", f"{sheet}#0,1", "--negative", f"{sheet}#2,3",
         "-n", "2", "-o", str(out / "direction.png")],
        ["forget", "--checkpoint", "{plain}", "--sheet", sheet, "--boxes", str(paths["boxes"]),
         "-o", str(out / "forget.png")],
        ["nearest", "--checkpoint", "{plain}", "--data", str(data / "train"), "-n", "2", "--samples", "8",
         "--held-out", "8", "-k", "1", "-o", str(out / "nearest.png"), "--json", str(out / "nearest.json")],
        ["export", "--checkpoint", "{plain}", "--format", "onnx", "-o", str(out / "g.onnx")],
        ["evaluate", "--checkpoint", "{plain}", "--real", str(data / "test"), "--features", "domain", "--n", "16",
         "--metrics", "fid", "--json", str(out / "quality.json"), "--no-progress"],
        ["nn-protocol", "--checkpoint", "{conditional}", "--data", str(data / "train"), "--test-data",
         str(data / "test"), "-n", "8", "--json", str(out / "nn.json")],
        ["info", "{plain}"],
    ]  # fmt: skip


def test_every_command_reading_a_generator_takes_the_file(labelled, files, tmp_path, capsys):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"boxes": {"0": [[0, 0, 8, 8]], "1": [[4, 4, 12, 12]]}}))
    paths = {"out": tmp_path / "out", "data": labelled / "data", "boxes": boxes}
    for argv in _commands(paths):
        argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
        assert main(argv) == 0, (argv, capsys.readouterr().err)
        written = [argv[i + 1] for i, flag in enumerate(argv) if flag in ("-o", "--json")]
        assert all(Path(path).is_file() for path in written) and (written or argv[0] == "info"), argv
    assert "D features" not in json.loads((paths["out"] / "nearest.json").read_text())  # pixel space only
    assert "has no discriminator, so pixel space only; for D features use the run's full" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["features", "--checkpoint", "{plain}", "--data", "{data}/train", "-o", "{out}/f.npy"],
        [
            "linear-probe",
            "--checkpoint",
            "{plain}",
            "--data",
            "{data}/train",
            "--protocol",
            "custom",
            "--labels-per-class",
            "2",
            "--validation-size",
            "4",
        ],
        ["visualize-d", "--checkpoint", "{plain}", "--data", "{data}/train", "-o", "{out}/v.png"],
        ["evaluate", "--checkpoint", "{plain}", "--real", "{data}/test", "--features", "discriminator"],
    ],
    ids=["features", "linear-probe", "visualize-d", "evaluate-discriminator"],
)
def test_what_needs_the_discriminator_refuses_the_file_in_one_line(labelled, files, tmp_path, capsys, argv):
    values = {"plain": files["plain"], "data": labelled / "data", "out": tmp_path}
    assert main([a.format(**values) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith(
        f"{files['plain']} is a generator-only file: it holds the raw generator, not the discriminator"
    )
    assert err[1:] == ["  fix: use the run's full checkpoint (its run folder, or RUN/checkpoints/last.safetensors)"]


def test_resume_refuses_the_file_in_one_line(files, capsys):
    assert main(["train", "--resume", str(files["plain"]), "--epochs", "2"]) == 2
    assert f"{files['plain']} is a generator-only file: resuming training needs" in capsys.readouterr().err
    with pytest.raises(DCGANError, match="is a generator-only file: it holds the raw generator, not the discrimin"):
        load_checkpoint(files["plain"]).network("D")


def test_a_run_folder_holding_a_generator_file_does_not_resume(labelled, files, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(labelled / "run", run)
    shutil.copy(files["plain"], run / "checkpoints" / "last.safetensors")
    with pytest.raises(DCGANError, match="generator-only file: it holds the raw generator, not the discriminator"):
        resume(run, epochs=2, callbacks=[])


def test_the_other_generator_is_named_with_the_fix(files):
    ckpt = load_checkpoint(files["conditional"])
    assert ckpt.generator_name() == "G_ema" and ckpt.generator_name("ema") == "G_ema"
    with pytest.raises(DCGANError, match="holds the averaged generator \\(--ema\\), not the raw generator") as raised:
        ckpt.generator("raw")
    assert "use --generator ema, or export the raw generator from the run's full checkpoint" in raised.value.fix
    with pytest.raises(DCGANError, match="holds the raw generator, not the averaged"):
        load_checkpoint(files["plain"]).generator("ema")


def test_fp16_is_for_generator_files_only(files, tmp_path, capsys):
    argv = ["export", "--checkpoint", str(files["plain"]), "--format", "onnx", "--dtype", "fp16"]
    assert main([*argv, "-o", str(tmp_path / "g.onnx")]) == 2
    assert "--dtype fp16 is for --format safetensors" in capsys.readouterr().err
    assert not (tmp_path / "g.onnx").exists()


def test_a_damaged_generator_file_is_one_clear_line(files, tmp_path, capsys):
    data = files["plain"].read_bytes()
    truncated, no_header = tmp_path / "truncated.safetensors", tmp_path / "incomplete.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    tensors, meta = load_tensors(files["plain"], "", "")
    checkpoints.save_tensors(no_header, tensors, {k: v for k, v in meta.items() if k != "noise"})
    for path, problem in ((truncated, "is not a dcgan checkpoint"), (no_header, "is damaged: noise missing")):
        assert main(["sample", "--checkpoint", str(path), "-o", str(tmp_path / "s.png")]) == 2
        err = capsys.readouterr().err
        assert f"{path} {problem}" in err and len(err.strip().splitlines()) == 2 and "Traceback" not in err


@pytest.fixture
def shipped(files, tmp_path, monkeypatch):
    """A package whose assets ship one model, 'tiny' (the unconditional run's G)."""
    folder = tmp_path / "pretrained"
    folder.mkdir()
    shutil.copy(files["plain"], folder / "tiny.safetensors")
    monkeypatch.setattr(checkpoints, "PRETRAINED", folder)
    return folder


def test_pretrained_samples_the_shipped_model(shipped, files, tmp_path):
    by_name, by_path = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["sample", "--pretrained", "tiny", "-n", "4", "-o", str(by_name)]) == 0
    assert main(["sample", "--checkpoint", str(files["plain"]), "-n", "4", "-o", str(by_path)]) == 0
    assert by_name.read_bytes() == by_path.read_bytes()
    walk = tmp_path / "walk.png"
    assert main(["interpolate", "--pretrained", "tiny", "--points", "2", "--steps", "3", "-o", str(walk)]) == 0
    assert Image.open(walk).size == (2 + 3 * 18, 2 + 18)


def test_an_unknown_or_absent_pretrained_model_lists_the_shipped_names(shipped, tmp_path, capsys, monkeypatch):
    for name in ("mnist", "../tiny"):
        assert main(["sample", "--pretrained", name, "-o", str(tmp_path / "s.png")]) == 2
        err = capsys.readouterr().err
        assert f"no pretrained model {name!r} in this install (it ships: tiny)" in err and "Traceback" not in err
    monkeypatch.setattr(checkpoints, "PRETRAINED", tmp_path / "none")  # a package that ships none (today's)
    assert main(["sample", "--pretrained", "mnist", "-o", str(tmp_path / "s.png")]) == 2
    assert "no pretrained model 'mnist' in this install (it ships: none yet)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sample", "--pretrained", "tiny", "--checkpoint", "x", "-o", str(tmp_path / "s.png")])
    assert "not allowed with argument" in capsys.readouterr().err


class _Server:
    """uvicorn's server, replaced: it records the app it would serve and returns at once."""

    apps: ClassVar[list] = []

    def __init__(self, config):
        self.config, self.should_exit = config, False

    def run(self, sockets):
        self.apps.append(self.config.app)


def test_serve_explores_a_pretrained_model_beside_a_generator_file(shipped, files, monkeypatch):
    from fastapi.testclient import TestClient

    import dcgan.serve.server

    monkeypatch.setattr(dcgan.serve.server.uvicorn, "Server", _Server)
    assert main(["serve", "--pretrained", "tiny", "--checkpoint", str(files["conditional"]), "--port", "0"]) == 0
    client = TestClient(_Server.apps[-1])
    assert [c["name"] for c in client.get("/api/info").json()["checkpoints"]] == ["tiny", "conditional"]
    sheet = client.post("/api/sheet", json={"checkpoint": "tiny", "seed": 0, "n": 4})
    assert sheet.status_code == 200 and len(sheet.json()["z"]) == 4
