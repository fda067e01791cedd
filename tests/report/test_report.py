"""report.html: every section, embedded decodable images, extra metric series, no external URL, small grids."""

import base64
import io
import json
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import blobs, save_screenshot, tiny_config
from dcgan import resume, train
from dcgan.cli import main
from dcgan.core.rundir import RunDir
from dcgan.report.html import LONG_RUN, MAX_GRID_WIDTH, build_report, grid_image, metric_panels, throughput

SECTIONS = ("progress", "samples", "curves", "throughput", "environment", "config")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    trainer = train(tiny_config(tmp_path_factory.mktemp("report"), epochs=5, log_every=1), blobs(64))
    # a quality metric as an evaluation callback would log it: a row with a kind and its own keys
    trainer.run.append_metrics(
        [
            {"kind": "quality", "step": 4, "epoch": 2, "fid": 80.5},
            {"kind": "quality", "step": 10, "epoch": 5, "fid": 61.0},
        ]
    )
    return trainer.run


def embedded_images(html: str) -> list[Image.Image]:
    found = re.findall(r'src="data:image/(?:png|jpeg);base64,([^"]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(data))) for data in found]


def test_the_report_has_every_section_and_every_epoch_grid(run):
    html = build_report(run.root)
    for section in SECTIONS:
        assert f'id="{section}"' in html
    images = embedded_images(html)
    assert len(images) == 5  # one per epoch
    with Image.open(run.epoch_samples(5)) as original:
        assert images[-1].size == original.size  # small grids are kept at full size
        assert (
            np.abs(np.asarray(images[-1].convert("RGB"), float) - np.asarray(original.convert("RGB"), float)).mean() < 8
        )
    assert "figure 2 (1 epoch)" in html and "figure 3 (5 epochs)" in html
    assert html.count("<button data-index=") == 2  # epochs 1 and 5 marked
    assert "quality: fid" in html  # the extra series has its own chart
    assert json.loads(run.config.read_text())["batch_size"] == 32 and "<th>batch_size</th><td>32</td>" in html
    text = re.sub(r"data:image/[a-z]+;base64,[^\"]+", "", html)  # nothing but the embedded images is loaded
    assert re.findall(r'src="([^"]*)"', text) == [""] * 5
    assert not re.search(r"https?:|href=|url\(|@import|//", text)


def test_training_writes_the_report_and_the_command_rebuilds_it(run, tmp_path, capsys):
    written = run.report.read_text()
    assert len(embedded_images(written)) == 5
    run.report.unlink()
    assert main(["report", str(run.root)]) == 0
    assert str(run.report) in capsys.readouterr().out
    assert len(embedded_images(run.report.read_text())) == 5
    assert main(["report", str(tmp_path)]) == 2  # not a run folder: one readable line
    assert "not a run folder" in capsys.readouterr().err


def test_metric_panels_group_training_statistics_and_extra_keys():
    rows = [
        {"step": 1, "epoch": 1, "loss_d": 1.0, "loss_g": 2.0, "d_x": 0.5, "d_g_z": 0.4, "lr_scale": 1.0},
        {"step": 2, "epoch": 1, "loss_d": 0.5, "loss_g": 3.0, "d_x": 0.6, "d_g_z": 0.3, "lr_scale": 1.0},
        {"kind": "quality", "step": 2, "epoch": 1, "fid": 70.0, "is": 2.5, "note": "text is not plotted"},
        {"kind": "summary", "fid": 65.0},  # a row with no step has no place on a curve
    ]
    panels = {title: (lines, y_range) for title, lines, y_range in metric_panels(rows)}
    assert list(panels) == ["losses", "D(x) and D(G(z))", "lr_scale", "quality: fid", "quality: is"]
    assert panels["losses"][0] == {"loss_d": ([1, 2], [1.0, 0.5]), "loss_g": ([1, 2], [2.0, 3.0])}
    assert panels["D(x) and D(G(z))"][1] == (0.0, 1.0)
    assert panels["quality: fid"][0] == {"fid": ([2], [70.0])}


def test_grids_are_made_small_for_large_images_and_long_runs(tmp_path):
    rng = np.random.default_rng(0)
    big = tmp_path / "big.png"
    Image.fromarray(rng.integers(0, 255, (600, 600, 3), dtype=np.uint8)).save(big)
    for epochs, width in ((5, MAX_GRID_WIDTH), (LONG_RUN + 1, MAX_GRID_WIDTH // 2)):
        mime, data = grid_image(str(big), epochs)  # a str or a Path
        with Image.open(io.BytesIO(data)) as img:
            assert img.size == (width, width) and img.format == mime.split("/")[1].upper()
        assert len(data) < big.stat().st_size / 2
    Image.new("RGB", (600, 300), "white").save(big)  # the grid rewritten: encoded again, not taken from memory
    os.utime(big, ns=(1, 1))
    with Image.open(io.BytesIO(grid_image(big, 5)[1])) as img:
        assert img.size == (MAX_GRID_WIDTH, MAX_GRID_WIDTH // 2) and img.convert("L").getextrema() == (255, 255)


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        # the run started at 1000 s: epoch 1 from then to its grid at 1010, each later one from grid to grid
        (1000, [(1, 10, 6.4), (2, 8, 8.0), (3, 16, 4.0), (4, 32, 2.0), (5, 4, 16.0)]),
        # resumed at 1026, inside epoch 3: epoch 3 counts from the resume, epoch 1 has no known start
        (1026, [(2, 8, 8.0), (3, 8, 8.0), (4, 32, 2.0), (5, 4, 16.0)]),
    ],
)
def test_throughput_is_timed_from_the_grids(run, tmp_path, started, expected):
    copy = RunDir(shutil.copytree(run.root, tmp_path / "run"))
    for epoch, written in enumerate((1010, 1018, 1034, 1066, 1070), 1):
        os.utime(copy.epoch_samples(epoch), (written, written))
    os.utime(copy.config, (started, started))
    speed = throughput(copy, copy.read_metrics(), batch_size=32)  # 2 steps of 32 images an epoch
    assert speed == [(epoch, pytest.approx(s), pytest.approx(per_s)) for epoch, s, per_s in expected]


def test_a_resumed_run_keeps_the_times_of_the_epochs_before_the_resume(tmp_path):
    train(tiny_config(tmp_path, epochs=2, log_every=1), blobs(64), callbacks=[])
    run = resume(tmp_path / "run", data=blobs(64), epochs=4, callbacks=[])  # config.json is rewritten here
    speed = throughput(run.run, run.run.read_metrics(), batch_size=32)
    assert [epoch for epoch, _, _ in speed] == [2, 3, 4]  # epoch 1's start is gone with the old config.json


def test_the_configuration_names_what_the_run_trained_on(run):
    assert json.loads(run.config.read_text())["data"] is None  # data given in Python, as for the bundled sample
    assert "<th>data</th><td>64 images, 16x16 grey (centre square crop), from blobs</td>" in build_report(run.root)


def test_the_report_renders_in_a_browser_and_the_slider_shows_each_epoch(browser, run, screenshots):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(run.report.resolve().as_uri())
    visible = page.locator(".grid img:visible")
    assert visible.count() == 1 and visible.get_attribute("data-epoch") == "5"  # opens at the last epoch
    page.locator(".marks button", has_text="epoch 1").click()
    assert page.locator(".grid img:visible").get_attribute("data-epoch") == "1"
    assert "figure 2" in page.locator("#epoch-label").inner_text()
    page.locator("#epoch-slider").fill("2")
    assert page.locator(".grid img:visible").get_attribute("data-epoch") == "3"
    assert page.locator("svg.chart").count() == 4  # losses, D outputs, d_x_sign (ADA's r_t), quality: fid
    assert page.evaluate("document.querySelector('.grid img').naturalWidth") > 0
    save_screenshot(page, screenshots / "report.png", full_page=True)
    assert errors == []
    page.close()
