"""The package as a user gets it: sdist and wheel built, the wheel installed into a fresh virtual environment.

Only dcgan comes from the wheel. torch and the other dependencies (about 700 MB) are made visible from this
environment through a ``.pth`` file written after the install, so the test takes seconds, not minutes; every
command then runs the fresh environment's ``dcgan``, with no PYTHONPATH and away from the source tree, and the
test checks that ``dcgan`` was imported from that environment.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from PIL import Image

import dcgan
from conftest import HANG
from dcgan import Generator, __version__
from dcgan.cli import main
from dcgan.core.checkpoints import PRETRAINED, pretrained_names, save_generator
from dcgan.core.models import ModelSpec
from dcgan.core.rundir import EVAL, RunDir

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")  # what the build reads (pyproject.toml names them)
SHIPPED = (  # besides the code: in the sdist under src/, in the wheel at the top
    "dcgan/assets/mnist-sample/ATTRIBUTION.md",
    "dcgan/assets/mnist-sample/train-images-idx3-ubyte.xz",
    "dcgan/assets/mnist-sample/train-labels-idx1-ubyte.xz",
    "dcgan/assets/mnist-domain/ATTRIBUTION.md",
    "dcgan/assets/mnist-domain/classifier.safetensors",
    "dcgan/reproduce/configs/mnist/cpu/train.json",
    "dcgan/reproduce/step_times.json",
    "dcgan/serve/static/index.html",
)
TEST_MODEL = "test-tiny"  # a generator-only file put in the built copy's assets/pretrained/: the wheel must carry it
SHOW_INSTALLED = "import dcgan, importlib.metadata as m; print(dcgan.__file__, dcgan.__version__, m.version('dcgan'))"
PRETRAINED_IN_PACKAGE = PRETRAINED.relative_to(Path(dcgan.__file__).parent)  # assets/pretrained
TEST_HEADER = {"noise": "normal", "class_names": []}
LICENCES = ("LICENSE", "src/dcgan/assets/mnist-sample/ATTRIBUTION.md", "src/dcgan/assets/mnist-domain/ATTRIBUTION.md")


def _cannot_build() -> str | None:
    """Why the dists cannot be built here (without build isolation, which would fetch setuptools), or None."""
    if os.name != "posix":
        return "the fresh environment's layout (bin/) is POSIX's"
    if importlib.util.find_spec("build") is None:
        return "building the dists needs the 'build' package: pip install -e .[test]"
    from packaging.version import Version  # build's own dependency

    setuptools = metadata.version("setuptools")
    if Version(setuptools) < Version("77"):
        return f"setuptools {setuptools} is older than pyproject.toml's build-system needs (77)"
    return None


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist, and the wheel built from it (as ``python -m build`` does), from a copy of the build's inputs."""
    reason = _cannot_build()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    tree = tmp_path_factory.mktemp("tree")
    for name in BUILD_INPUTS:  # a copy: building writes build/ and *.egg-info beside its inputs
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, tree / name)
    G = Generator(ModelSpec(resolution=16, channels=1, nz=8, g_width=8, d_width=8))
    save_generator(tree / "src" / "dcgan" / PRETRAINED_IN_PACKAGE / f"{TEST_MODEL}.safetensors", G, "G", TEST_HEADER)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr
    return {"sdist": next(out.glob("*.tar.gz")), "wheel": next(out.glob("*.whl"))}


@pytest.fixture(scope="module")
def venv(dists, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; this environment's packages visible behind it."""
    env = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=HANG)
    pip = [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python")]  # this pip, on the fresh environment
    install = ["install", "--no-deps", "--no-index", "-q", "--disable-pip-version-check"]  # offline, dcgan alone
    subprocess.run([*pip, *install, str(dists["wheel"])], env=_without_pythonpath(), check=True, timeout=HANG)
    purelib = _in_venv(env, "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    # written after the install, so pip never saw this environment's own dcgan (an editable install)
    (Path(purelib) / "dependencies_from_the_test_environment.pth").write_text("\n".join(site.getsitepackages()))
    return env


def _in_venv(env: Path, command: str, *args: str) -> str:
    """Run the fresh environment's ``command`` from a folder of its own, without PYTHONPATH; its stdout."""
    work = env / "work"
    work.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(env / "bin" / command), *args],
        env=_without_pythonpath() | {"PYTHONNOUSERSITE": "1", "DCGAN_CACHE": str(env / "cache")},
        cwd=work,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert result.returncode == 0, f"{command} {' '.join(args)}:\n{result.stderr}"
    return result.stdout


def _without_pythonpath() -> dict[str, str]:
    """This process's environment variables without those that would put the source tree on sys.path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def test_the_dists_carry_the_licence_attributions_assets_and_configs(dists):
    version = __version__
    assert dists["wheel"].name == f"dcgan-{version}-py3-none-any.whl"  # the version pyproject.toml read
    with tarfile.open(dists["sdist"]) as sdist:
        names = set(sdist.getnames())
    top = f"dcgan-{version}"
    assert {f"{top}/{name}" for name in LICENCES} <= names
    assert {f"{top}/src/{name}" for name in SHIPPED} <= names
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"dcgan-{version}.dist-info/METADATA").decode()
    assert {f"dcgan-{version}.dist-info/licenses/{name}" for name in LICENCES} <= names
    assert set(SHIPPED) <= names
    assert "License-Expression: MIT AND CC-BY-SA-3.0" in metadata and f"Version: {version}\n" in metadata
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")


def test_the_installed_wheel_is_what_runs(venv):
    where, version, metadata_version = _in_venv(venv, "python", "-c", SHOW_INSTALLED).split()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(ROOT)
    assert version == metadata_version == __version__  # the wheel's metadata took dcgan.__version__


def test_dcgan_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"dcgan {__version__}\n"


def test_train_sample_and_plan_from_the_installed_wheel(venv):
    run, grid = venv / "work" / "run", venv / "work" / "grid.png"
    tiny = "--steps 2 --limit 200 --batch-size 16 --g-width 8 --d-width 8 --nz 16 --sample-count 4 --no-cache"
    # no --data: the bundled MNIST sample; --eval-every: scored by the bundled MNIST network
    scored = "--eval-every 2 --eval-n 16 --precision fp32 --no-progress"
    _in_venv(venv, "dcgan", "train", *tiny.split(), *scored.split(), "--out", str(run))
    (row,) = RunDir(run).read_metrics(EVAL)
    assert row["step"] == 2 and row["features"].startswith("domain (bundled") and row["fid"] > 0
    _in_venv(venv, "dcgan", "sample", "--checkpoint", str(run), "-n", "4", "--nrow", "2", "-o", str(grid))
    assert Image.open(grid).size == (70, 70)  # 2 x 2 images of 32 px, 2 px between and around them
    (venv / "data" / "mnist").mkdir(parents=True)  # --plan reads nothing, but checks the data is there
    plan = _in_venv(venv, "dcgan", "reproduce", "mnist", "--plan", "--data-root", str(venv / "data"))
    config = Path(re.search(r"config (\S+/mnist/cpu/train\.json)", plan).group(1))  # a recipe's file, as listed
    assert config.is_relative_to(venv) and config.is_file()


def test_pretrained_models_ship_in_the_wheel_and_sample_from_it(dists, venv):
    """Whatever lies in assets/pretrained/ ships (a test model, put in the built copy) and samples offline."""
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        assert f"dcgan/{PRETRAINED_IN_PACKAGE}/{TEST_MODEL}.safetensors" in wheel.namelist()
    for name in [TEST_MODEL, *pretrained_names()]:  # and every model this source tree ships
        grid = venv / "work" / f"{name}.png"
        _in_venv(venv, "dcgan", "sample", "--pretrained", name, "-n", "4", "--nrow", "2", "-o", str(grid))
        assert name != TEST_MODEL or Image.open(grid).size == (38, 38)  # 2 x 2 images of 16 px
