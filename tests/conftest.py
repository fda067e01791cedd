"""Shared fixtures and writers: tiny configs and data so every test runs in seconds on a CPU.

Test modules import the helpers here (``from conftest import blobs``), never from one another.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import ImageData, TrainConfig
from dcgan.cli import main
from dcgan.data.formats import celeba

# ../shared/data beside the checkout, or where $DCGAN_DATA points (as dcgan reproduce looks for it)
SHARED_DATA = Path(os.environ.get("DCGAN_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
# seconds a test waits for another process or thread before calling it hung: a guard only, far beyond what any
# machine needs (a wait ends on what it waits for, never on a timer), so a busy machine does not fail the suite
HANG = 300
SRC = Path(__file__).resolve().parents[1] / "src"  # the checkout's package, for tests that start python themselves


def src_env() -> dict[str, str]:
    """This process's environment with the checkout's package first on PYTHONPATH: what a subprocess needs to
    import the code under test rather than an installed copy."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def shared_data(name: str) -> Path:
    """A file of ../shared/data, or skip the test where that folder is absent (a user's clone)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def blobs(n: int = 256, resolution: int = 16, channels: int = 1, seed: int = 0) -> ImageData:
    """Bright discs of random position and size on a dark background: easy to learn, not constant."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:resolution, :resolution]
    cy, cx = rng.uniform(4, resolution - 4, (2, n, 1, 1))
    r = rng.uniform(2, resolution / 4, (n, 1, 1))
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).astype(np.uint8) * 220 + 20
    images = np.repeat(disc[:, None], channels, axis=1)
    labels = torch.from_numpy((r[:, 0, 0] > resolution / 8).astype(np.int64))
    return ImageData(torch.from_numpy(images), labels, ["small", "large"], source="blobs")


def tiny_config(tmp_path: Path, **overrides) -> TrainConfig:
    values = dict(
        g_width=8,
        d_width=8,
        nz=16,
        batch_size=32,
        epochs=2,
        sample_count=16,
        log_every=3,
        precision="fp32",  # not auto: its timing probe could pick another precision from one run to the next
        progress=False,
        out=str(tmp_path / "run"),
    )
    values.update(overrides)
    return TrainConfig(**values)


def write_images(folder: Path, specs: list[tuple[str, str, tuple[int, int]]], seed: int = 0) -> list[Path]:
    """Write (relative name, PIL mode, (w, h)) images filled with seeded noise."""
    rng = np.random.default_rng(seed)
    paths = []
    for name, mode, (w, h) in specs:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        bands = {"L": 1, "RGB": 3, "RGBA": 4}.get(mode)
        if mode == "I;16":
            img = Image.fromarray(rng.integers(0, 65535, (h, w), dtype=np.uint16))
        elif mode == "P":
            img = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).convert("P")
        else:
            arr = rng.integers(0, 255, (h, w, bands), dtype=np.uint8)
            img = Image.fromarray(arr[..., 0] if bands == 1 else arr, mode)
        img.save(path)
        paths.append(path)
    return paths


def png_bytes(size=(4, 4)) -> bytes:
    """A small valid PNG, as bytes."""
    buf = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buf, "PNG")
    return buf.getvalue()


CELEBA_NAMES = ["Male", "Smiling", "Eyeglasses"]
CELEBA_ATTRS = [[1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, -1], [-1, 1, 1]]


def _face(seed: int, size=(178, 218)) -> Image.Image:
    """A black image whose centred face-crop square (108/178 of the width) is a flat seeded colour."""
    w, h = size
    side = round(w * 108 / 178)
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    colour = np.random.default_rng(seed).integers(60, 250, 3)
    arr[(h - side) // 2 : (h + side) // 2, (w - side) // 2 : (w + side) // 2] = colour
    return Image.fromarray(arr)


def write_celeba(root, attrs: list[list[int]], size=(178, 218), partition=None, landmarks=None):
    """A CelebA folder of the official layout: faces of ``size`` with ``attrs`` (columns CELEBA_NAMES), and with
    ``landmarks`` ((N, 5, 2) pixels of the aligned 178x218 images) the landmark list, spaced as the official one."""
    (root / "img_align_celeba").mkdir(parents=True)
    lines = [str(len(attrs)), " ".join(CELEBA_NAMES)]
    for i, row in enumerate(attrs, 1):
        _face(i, size).save(root / "img_align_celeba" / f"{i:06d}.png")
        lines.append(f"{i:06d}.png " + " ".join(f"{v:2d}" for v in row))
    (root / celeba.ATTR_FILE).write_text("\n".join(lines) + "\n")
    if landmarks is not None:
        header = (
            "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
        )
        rows = [f"{i:06d}.png " + "".join(f"{v:5d}" for v in np.ravel(p)) for i, p in enumerate(landmarks, 1)]
        (root / celeba.LANDMARK_FILE).write_text("\n".join([str(len(rows)), header, *rows]) + "\n")
    if partition:
        (root / celeba.PARTITION_FILE).write_text("".join(f"{i:06d}.png {p}\n" for i, p in enumerate(partition, 1)))


def same_data(a: ImageData, b: ImageData) -> None:
    """Assert two ImageData hold the same pixels, labels, attributes, landmarks and names."""
    assert a.images.shape == b.images.shape and (a.images.numpy() == b.images.numpy()).all()
    for field in ("labels", "attributes", "landmarks"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None and y is None) or (x.numpy() == y.numpy()).all()
    assert a.class_names == b.class_names and a.attribute_names == b.attribute_names
    assert a.landmark_names == b.landmark_names


def is_file_mapped(tensor: torch.Tensor, file) -> bool:
    """Whether the tensor's memory lies in a mapping of ``file`` (Linux /proc/self/maps)."""
    address = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *_, name = line.split(maxsplit=5)
        lo, hi = (int(x, 16) for x in span.split("-"))
        if lo <= address < hi:
            return name.strip() == str(file)
    return False


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """Blobs (small vs large discs) as PNGs in train/<class>/ and test/<class>/, plus a tiny trained run.

    Module-scoped: each module that uses it gets its own copy, so no module sees another's outputs.
    """
    root = tmp_path_factory.mktemp("features")
    data = blobs(240, resolution=32, seed=1)  # radii 2..8 px: half small, half large
    for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
        split = "train" if i < 160 else "test"
        path = root / "data" / split / data.class_names[label] / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0].numpy()).save(path)
    tiny = ["--g-width", "8", "--d-width", "8", "--nz", "8", "--batch-size", "32", "--no-progress"]
    tiny += ["--precision", "fp32"]  # not auto: its timing probe could choose another precision elsewhere
    run = root / "run"
    args = ["train", "--data", str(root / "data" / "train"), "--resolution", "16", "--epochs", "1", "--out", str(run)]
    assert main([*args, "--sample-count", "4", *tiny]) == 0
    return root


def pytest_configure(config):
    """Each pytest-xdist worker computes with its share of the cores, it and the processes its tests start: with
    every worker on every core, their OpenMP threads would fight over them (docs/benchmarks.md)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        share = max(1, cores // workers)  # the cores this process may use, as pytest-xdist counts them
        torch.set_num_threads(share)
        os.environ.setdefault("OMP_NUM_THREADS", str(share))


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Prepared copies made by training runs go to a temporary folder, never the user's ~/.cache."""
    os.environ["DCGAN_CACHE"] = str(tmp_path_factory.mktemp("dcgan-cache"))


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def single_thread():
    """Run with one torch thread: on tiny tensors, waking a second thread on a busy machine costs more than it saves."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CHROMIUM = os.environ.get("DCGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """Headless chromium driven by playwright: Debian's (or $DCGAN_CHROMIUM), else Playwright's own if installed.

    Without one, the browser tests skip with the reason, except in CI (CI=true), where they fail.
    """
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        sync_playwright = None
    with contextlib.ExitStack() as stack:
        launched, missing = None, "the playwright package"
        if sync_playwright is not None:
            playwright = stack.enter_context(sync_playwright())
            try:  # executable_path=None: Playwright's own download, absent unless `playwright install` ran
                launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            except Error as exc:
                missing = f"a chromium that starts ({str(exc).strip().splitlines()[0]})"
        if launched is None:
            message = f"browser tests need {missing}: run scripts/setup-browser.sh (as root, or with sudo)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        stack.callback(launched.close)
        yield launched


def save_screenshot(page, path: Path, full_page: bool = False) -> Path:
    """A screenshot of a playwright page as a 128-colour PNG: a tenth of the size, small enough for docs/."""
    with Image.open(io.BytesIO(page.screenshot(full_page=full_page))) as shot:
        shot.convert("RGB").quantize(128, method=Image.Quantize.MEDIANCUT).save(path, "PNG", optimize=True)
    return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where browser tests save screenshots: $DCGAN_SCREENSHOTS, or a temporary folder."""
    folder = Path(os.environ.get("DCGAN_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
