"""The explorer in a real headless browser: sheet, walk, arithmetic, direction, boxes, downloads, errors, and the
class menu of a class-conditional model.

Set DCGAN_EXPLORER_CHECKPOINT to explore a real run instead of the tiny one trained here, and
DCGAN_SCREENSHOTS to keep the screenshots (docs/explorer.md's come from such a run).
"""

import base64
import contextlib
import io
import json
import os
import threading
import time

import numpy as np
import pytest
import torch
import uvicorn
from PIL import Image

from conftest import HANG, blobs, save_screenshot, tiny_config
from dcgan import load_generator, train
from dcgan.core.images import to_uint8
from dcgan.core.sampling import generate
from dcgan.experiments.forgetting import load_boxes
from dcgan.experiments.latent import load_z, load_z_meta
from dcgan.serve import Explorer, bind, create_app


@contextlib.contextmanager
def serving(checkpoint):
    """The explorer of ``checkpoint`` on a free port, in a thread: yields its address."""
    sock = bind("127.0.0.1", 0)
    uvicorn_server = uvicorn.Server(uvicorn.Config(create_app(Explorer([checkpoint])), log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not uvicorn_server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    uvicorn_server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    checkpoint = os.environ.get("DCGAN_EXPLORER_CHECKPOINT")
    if not checkpoint:
        folder = tmp_path_factory.mktemp("explorer")
        train(tiny_config(folder, epochs=1, resolution=16), blobs(64))
        checkpoint = folder / "run"
    with serving(checkpoint) as address:
        yield address


def png_of(uri_or_bytes) -> Image.Image:
    data = uri_or_bytes
    if isinstance(data, str):
        assert data.startswith("data:image/png;base64,")
        data = base64.b64decode(data.split(",", 1)[1])
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    img.load()
    return img


def saved(download, folder) -> bytes:
    path = folder / download.suggested_filename
    download.save_as(path)
    return path.read_bytes()


def test_a_person_explores_the_latent_space(browser, server, screenshots, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(HANG * 1000)  # each wait ends on what it waits for; Playwright's 30 s is a timer
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    page.wait_for_selector("#sheet .cell img")
    info = page.evaluate("state.info.checkpoints[0]")
    size = (info["resolution"], info["resolution"])
    timings = {"first_sheet_ms": int(page.locator("#status").get_attribute("data-ms"))}

    # a fresh sheet by seed: valid PNGs of the generator's size
    page.fill("#seed", "5")
    page.fill("#count", "12")
    page.click("#draw")
    page.wait_for_function("document.querySelectorAll('#sheet .cell').length === 12")
    page.wait_for_function("document.querySelector('#status').textContent.startsWith('sheet:')")
    timings["sheet_ms"] = int(page.locator("#status").get_attribute("data-ms"))
    cells = page.locator("#sheet .cell")
    sources = [cells.nth(i).locator("img").get_attribute("src") for i in range(12)]
    assert all(png_of(src).size == size for src in sources) and len(set(sources)) > 1
    save_screenshot(page, screenshots / "explorer-sheet.png")

    # click two samples, walk between them
    cells.nth(0).click()
    cells.nth(3).click()
    assert page.locator("#sheet .cell.selected").count() == 2
    page.fill("#steps", "6")
    page.click("#walk")
    page.wait_for_selector("#walk-result img")
    timings["walk_ms"] = int(page.locator("#status").get_attribute("data-ms"))
    walk = page.locator("#walk-result img")
    assert walk.count() == 6
    ends = [np.asarray(png_of(walk.nth(k).get_attribute("src")), float) for k in (0, 5)]
    for end, cell in zip(ends, (0, 3), strict=True):
        assert np.abs(end - np.asarray(png_of(sources[cell]), float)).mean() < 2  # the walk starts and ends there

    # concept buckets (one filled by dragging) and arithmetic
    page.click("#clear-selection")
    for i in (1, 2):
        cells.nth(i).click()
    page.locator('.bucket[data-name="A"] button.add').click()
    cells.nth(4).drag_to(page.locator('.bucket[data-name="B"]'))
    page.click("#clear-selection")
    cells.nth(5).click()
    page.locator('.bucket[data-name="C"] button.add').click()
    assert [page.locator(f'.bucket[data-name="{b}"] img').count() for b in "ABC"] == [2, 1, 1]
    page.click("#compute")
    page.wait_for_selector("#arithmetic-result img")
    assert page.locator("#arithmetic-result img").count() == 9  # Y and 8 samples of Y + noise
    sheet_z = torch.tensor(page.evaluate("state.sheet.z"))
    y = torch.tensor(page.evaluate("state.results.arithmetic.z[0][0]"))
    assert torch.allclose(y, sheet_z[[1, 2]].mean(0) - sheet_z[4] + sheet_z[5], atol=1e-5)

    # a direction from bucket A to bucket B, moved with the slider
    page.click("#clear-selection")
    cells.nth(6).click()
    page.click("#direction")
    page.wait_for_selector("#direction-result img.shown")
    middle = page.locator("#direction-result img.shown").get_attribute("src")
    page.locator("#strength").fill("12")
    assert page.locator("#strength-label").inner_text() == "strength 3"
    assert page.locator("#direction-result img.shown").get_attribute("src") != middle

    # boxes drawn on a sample, exported as the file dcgan forget reads
    page.check("#box-mode")
    box = cells.nth(2).locator("img").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.5, steps=4)
    page.mouse.up()
    with page.expect_download() as download:
        page.click("#export-boxes")
    boxes = json.loads(saved(download.value, tmp_path))
    sheet_name = page.evaluate("state.sheetName")
    assert boxes["sheet"] == f"{sheet_name}.safetensors" and list(boxes["boxes"]) == ["2"]  # by cell
    ((x0, y0, x1, y1),) = boxes["boxes"]["2"]
    w = size[0]
    assert all(isinstance(v, int) for v in (x0, y0, x1, y1))
    assert abs(x0 - w / 4) <= 1 and abs(y0 - w / 4) <= 1 and abs(x1 - 3 * w / 4) <= 1 and abs(y1 - w / 2) <= 1
    exported = tmp_path / download.value.suggested_filename
    assert load_boxes(exported, 12, w) == {2: [(x0, y0, x1, y1)]}  # the file dcgan forget reads, as it reads it
    page.uncheck("#box-mode")
    save_screenshot(page, screenshots / "explorer.png", full_page=True)

    # downloads: the sheet's z file (read with the CLI's file#cells syntax), one sample, a walk figure
    with page.expect_download() as download:
        page.click("#download-sheet-z")
    zfile = tmp_path / download.value.suggested_filename
    download.value.save_as(zfile)
    assert zfile.name == f"{sheet_name}.safetensors"
    assert torch.equal(load_z(f"{zfile}#0,3"), sheet_z[[0, 3]])
    with page.expect_download() as download:
        cells.nth(7).locator("a.save").click()
    assert png_of(saved(download.value, tmp_path)).size == size
    with page.expect_download() as download:
        page.locator("#walk-panel button.download-png").click()
    assert png_of(saved(download.value, tmp_path)).size == (2 + 6 * (size[0] + 2), 2 + size[1] + 2)

    # errors come back as JSON and show in the page
    page.fill("#count", "1000")
    page.click("#draw")
    page.wait_for_selector("#error:not([hidden])")
    assert "less than or equal to 64" in page.locator("#error").inner_text()
    save_screenshot(page, screenshots / "explorer-error.png")
    page.click("#clear-selection")
    page.click("#walk")
    assert "select two or more samples" in page.locator("#error").inner_text()

    (screenshots / "timings.json").write_text(json.dumps(timings) + "\n")
    assert errors == []
    page.close()


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explorer-conditional")
    train(tiny_config(folder, epochs=1, resolution=16, conditional=True), blobs(64))  # classes small, large
    return folder / "run"


def test_a_conditional_model_is_explored_one_class_at_a_time(browser, conditional, tmp_path):
    G = load_generator(conditional)

    def shown_at(label: int, sources: list[str]) -> bool:  # the sheet's images are G(z, label) of its z
        z = torch.tensor(page.evaluate("state.sheet.z"))
        expected = to_uint8(generate(G, z, torch.full((len(z),), label)))[..., 0]
        return all(np.array_equal(np.asarray(png_of(src)), e) for src, e in zip(sources, expected, strict=True))

    with serving(conditional) as address:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(HANG * 1000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(address)
        page.wait_for_selector("#sheet .cell img")
        assert page.locator("#class-picker").is_visible()
        assert page.locator("#class option").all_inner_texts() == ["0: small", "1: large"]
        assert page.input_value("#class") == "0"
        first = [page.locator("#sheet .cell img").nth(i).get_attribute("src") for i in range(16)]
        assert shown_at(0, first)

        # another class: the menu redraws the sheet, the request carrying the class
        with page.expect_request("**/api/sheet") as request:
            page.select_option("#class", "1")
        assert json.loads(request.value.post_data)["label"] == 1
        page.wait_for_function(
            "state.sheet.label === 1 && document.querySelector('#status').textContent.startsWith('sheet:')"
        )
        cells = page.locator("#sheet .cell")
        sources = [cells.nth(i).locator("img").get_attribute("src") for i in range(16)]
        assert shown_at(1, sources) and sources != first
        assert "class1" in page.evaluate("state.sheetName")

        # a walk between two cells stays in the class: its ends are those cells
        cells.nth(0).click()
        cells.nth(3).click()
        page.fill("#steps", "4")
        with page.expect_request("**/api/walk") as request:
            page.click("#walk")
        assert json.loads(request.value.post_data)["label"] == 1
        page.wait_for_selector("#walk-result img")
        walk = page.locator("#walk-result img")
        assert walk.nth(0).get_attribute("src") == sources[0] and walk.nth(3).get_attribute("src") == sources[3]

        # the sheet's z file says the class it was drawn at, as dcgan sample --sheet --class writes it
        with page.expect_download() as download:
            page.click("#download-sheet-z")
        zfile = tmp_path / download.value.suggested_filename
        download.value.save_as(zfile)
        assert load_z_meta(zfile)["label"] == 1
        assert errors == []
        page.close()
