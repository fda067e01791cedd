"""The explorer's API: every endpoint's values against the Python API, and bad, oversized and concurrent requests."""

import base64
import io
import threading

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from conftest import HANG, blobs, tiny_config
from dcgan import load_generator, train
from dcgan.cli import main
from dcgan.core.images import to_uint8
from dcgan.core.sampling import generate, sample_noise, seeded
from dcgan.errors import DCGANError
from dcgan.experiments import latent
from dcgan.serve import Explorer, Limits, bind, create_app


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    train(tiny_config(folder, epochs=2, checkpoint_every=1), blobs(64))
    return folder / "run"


@pytest.fixture(scope="module")
def client(run):
    return TestClient(create_app(Explorer([run])))


def decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as img:
        assert img.format == "PNG"
        return np.asarray(img)


def post(client, path, **body):
    return client.post(path, json={"checkpoint": "run/last", **body})


def test_info_lists_every_checkpoint_of_the_run_and_the_limits(client):
    info = client.get("/api/info").json()
    assert [c["name"] for c in info["checkpoints"]] == ["run/last", "run/epoch_0001", "run/epoch_0002"]
    assert info["checkpoints"][1] | {"name": 0} == {
        "name": 0,
        "epoch": 1,
        "step": 2,
        "nz": 16,
        "resolution": 16,
        "channels": 1,
        "noise": "normal",
        "classes": [],
        "label": None,
    }
    assert info["limits"]["sheet"] == Limits().sheet


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/explorer.js" in page.text
    assert "fetch(" in client.get("/static/explorer.js").text
    assert client.get("/static/explorer.css").status_code == 200


def test_a_sheet_is_the_cli_sheet_of_its_seed(client, run):
    data = post(client, "/api/sheet", seed=3, n=4).json()
    z = sample_noise(4, 16, "normal", seeded(3))
    assert torch.equal(torch.tensor(data["z"]), z)
    expected = to_uint8(generate(load_generator(run), z))
    for uri, pixels in zip(data["images"], expected, strict=True):
        assert np.array_equal(decode(uri), pixels[..., 0])  # 16x16 grey PNGs, the same pixels
    assert decode(data["grid"]).shape[:2] == (2 + 2 * 18, 2 + 2 * 18)
    assert post(client, "/api/sheet", seed=3, n=4).json()["images"] == data["images"]
    other = post(client, "/api/sheet", seed=3, n=4, checkpoint="run/epoch_0001").json()
    assert other["z"] == data["z"] and other["images"] != data["images"]  # another checkpoint, the same z


def test_a_walk_runs_from_the_first_point_to_the_last(client):
    points = sample_noise(3, 16, "normal", seeded(1))
    for spherical in (True, False):
        data = post(client, "/api/walk", z=points.tolist(), steps=5, spherical=spherical).json()
        assert len(data["images"]) == 2 and all(len(row) == 5 for row in data["images"])
        z = torch.tensor(data["z"])
        assert torch.allclose(z, latent.walk(points, 5, spherical), atol=1e-6)
        assert torch.allclose(z[0, 0], points[0], atol=1e-6) and torch.allclose(z[1, -1], points[2], atol=1e-6)
        assert decode(data["images"][0][0]).shape == (16, 16)


def test_arithmetic_is_the_expression_over_concept_means(client):
    a, b, c = (sample_noise(3, 16, "normal", seeded(s)) for s in (1, 2, 3))
    concepts = {"smiling woman": a.tolist(), "woman": b.tolist(), "man": c.tolist()}
    data = post(
        client, "/api/arithmetic", expression="smiling woman - woman + man", concepts=concepts, noise_samples=2
    ).json()
    assert len(data["images"]) == 3 and len(data["z"]) == 3
    assert torch.allclose(torch.tensor(data["z"][0]), a.mean(0) - b.mean(0) + c.mean(0), atol=1e-5)
    assert (torch.tensor(data["z"][1:]) - torch.tensor(data["z"][0])).abs().max() <= 0.25 + 1e-6


def test_a_direction_moves_each_sample_by_each_strength(client):
    positive, negative, z = (sample_noise(2, 16, "normal", seeded(s)) for s in (4, 5, 6))
    data = post(
        client,
        "/api/direction",
        positive=positive.tolist(),
        negative=negative.tolist(),
        z=z.tolist(),
        strengths=[-1, 0, 2],
    ).json()
    moved = torch.tensor(data["z"])
    assert moved.shape == (2, 3, 16) and len(data["images"]) == 2 and len(data["images"][0]) == 3
    assert torch.allclose(moved[:, 1], z, atol=1e-6)
    assert torch.allclose(moved[:, 2] - moved[:, 1], 2 * (positive.mean(0) - negative.mean(0)).expand(2, 16), atol=1e-5)


def test_a_z_file_download_is_readable_by_the_cli_cell_syntax(client, tmp_path):
    z = sample_noise(5, 16, "normal", seeded(7))
    response = client.post("/api/zfile", json={"z": z.tolist(), "name": "my sheet/../x", "meta": {"seed": 7}})
    assert response.headers["content-disposition"] == 'attachment; filename="my_sheet_.._x.safetensors"'
    path = tmp_path / "sheet.safetensors"
    path.write_bytes(response.content)
    assert torch.equal(latent.load_z(f"{path}#1,3"), z[[1, 3]])
    assert latent.load_z_meta(path) == {"seed": 7}


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/sheet", {"n": 65}, 422, "n: Input should be less than or equal to 64"),
        ("/api/sheet", {"n": 0}, 422, "n: Input should be greater than or equal to 1"),
        ("/api/sheet", {"seed": -1}, 422, "seed"),
        ("/api/sheet", {"n": 2, "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ("/api/sheet", {"checkpoint": "other"}, 400, "no checkpoint named 'other'"),
        ("/api/walk", {"z": [[0.0] * 16] * 9}, 422, "z: List should have at most 8 items"),
        ("/api/walk", {"z": [[0.0] * 16] * 2, "steps": 17}, 422, "steps"),
        ("/api/walk", {"z": [[0.0] * 15] * 2}, 400, "z must be rows of 16 numbers"),
        ("/api/walk", {"z": [[1e9] * 16] * 2}, 422, "less than or equal to 1000"),
        (
            "/api/arithmetic",
            {"expression": "A - B", "concepts": {"A": [[0.0] * 16]}},
            400,
            "no exemplars given for 'B'",
        ),
        ("/api/arithmetic", {"expression": "A", "concepts": {str(i): [[0.0] * 16] for i in range(7)}}, 422, "concepts"),
        (
            "/api/direction",
            {"positive": [[0.0] * 16], "negative": [[0.0] * 16], "z": [[0.0] * 16], "strengths": [11]},
            422,
            "strengths.0",
        ),
        ("/api/zfile", {"z": [[0.0] * 16, [0.0] * 15]}, 400, "different lengths"),
        ("/api/zfile", {"z": [[0.0]] * 513}, 422, "at most 512"),
    ],
)
def test_bad_and_oversized_requests_are_readable_json_errors(client, path, body, status, words):
    body = {"checkpoint": "run/last", **body} if path != "/api/zfile" else body
    response = client.post(path, json=body)
    assert response.status_code == status
    assert words in response.json()["error"] and response.json()["fix"]


def test_a_body_that_is_not_json_is_a_readable_error(client):
    response = client.post("/api/sheet", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"].startswith("invalid request")


def test_requests_beyond_the_concurrency_limit_wait_then_get_busy(run):
    explorer = Explorer([run])
    release, entered = threading.Event(), threading.Event()
    original = explorer.sheet

    def slow_sheet(*args):
        entered.set()
        release.wait(HANG)
        return original(*args)

    explorer.sheet = slow_sheet
    client = TestClient(create_app(explorer, Limits(concurrent=1, wait_s=0.2)))
    first = {}
    worker = threading.Thread(target=lambda: first.update(r=post(client, "/api/sheet", n=1)))
    worker.start()
    assert entered.wait(HANG)
    busy = post(client, "/api/sheet", n=1)
    release.set()
    worker.join(HANG)
    assert busy.status_code == 503 and "busy" in busy.json()["error"]
    assert first["r"].status_code == 200
    assert post(client, "/api/sheet", n=1).status_code == 200  # the turn was given back


def test_a_taken_port_is_one_clear_error(run, capsys):
    taken = bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        with pytest.raises(DCGANError, match=f"port {port} on 127.0.0.1 is already in use"):
            bind("127.0.0.1", port)
        assert main(["serve", "--checkpoint", str(run), "--port", str(port)]) == 2
        assert "already in use" in capsys.readouterr().err
    finally:
        taken.close()
    with pytest.raises(DCGANError, match="port 70000 is not a TCP port"):
        bind("127.0.0.1", 70000)


def test_no_checkpoint_is_a_clear_error(run, tmp_path, capsys):
    with pytest.raises(DCGANError, match="holds no checkpoint"):
        Explorer([tmp_path])
    assert main(["serve", "--checkpoint", str(tmp_path / "missing.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
    not_a_checkpoint = run / "config.json"  # a file, but no checkpoint: refused at start, not later in the page
    with pytest.raises(DCGANError, match=r"config\.json is not a dcgan checkpoint"):
        Explorer([run, not_a_checkpoint])


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-conditional")
    train(tiny_config(folder, epochs=1, conditional=True), blobs(64))  # classes small, large
    return folder / "run"


def shows(uris: list[str], G, z: torch.Tensor, label: int) -> bool:
    """Whether the PNGs are G(z, label), pixel for pixel (16x16 grey)."""
    expected = to_uint8(generate(G, z, torch.full((len(z),), label)))
    return len(uris) == len(z) and all(
        np.array_equal(decode(uri), pixels[..., 0]) for uri, pixels in zip(uris, expected, strict=True)
    )


def test_a_conditional_checkpoint_draws_the_class_each_request_names(conditional):
    client = TestClient(create_app(Explorer([conditional], start_class="large")))
    (info,) = [c for c in client.get("/api/info").json()["checkpoints"] if c["name"] == "run/last"]
    assert info["classes"] == ["small", "large"] and info["label"] == 1  # the page starts at --class
    G = load_generator(conditional)
    z = sample_noise(3, 16, "normal", seeded(2))
    for label in (0, 1):
        assert shows(post(client, "/api/sheet", seed=2, n=3, label=label).json()["images"], G, z, label)
    walk = post(client, "/api/walk", z=z[:2].tolist(), steps=3, label=1).json()
    assert shows(walk["images"][0], G, torch.tensor(walk["z"])[0], 1)
    concepts = {"A": z[:1].tolist(), "B": z[1:2].tolist()}
    sums = post(client, "/api/arithmetic", expression="A - B", concepts=concepts, noise_samples=0, label=0).json()
    assert shows(sums["images"], G, torch.tensor(sums["z"]), 0)
    ends = {"positive": z[:1].tolist(), "negative": z[1:2].tolist(), "z": z[2:].tolist(), "strengths": [1]}
    moved = post(client, "/api/direction", **ends, label=1).json()
    assert shows(moved["images"][0], G, torch.tensor(moved["z"])[0], 1)


@pytest.mark.parametrize(
    ("which", "body", "words"),
    [
        ("conditional", {}, "class-conditional (2 classes) and draws one class at a time"),
        ("conditional", {"label": 2}, "no class 2 in a network of 2 classes"),
        ("unconditional", {"label": 0}, "not class-conditional"),
    ],
)
def test_a_class_that_does_not_fit_the_checkpoint_is_a_readable_json_error(which, body, words, conditional, run):
    client = TestClient(create_app(Explorer([conditional if which == "conditional" else run])))
    response = post(client, "/api/sheet", n=1, **body)
    assert response.status_code == 400 and words in response.json()["error"] and response.json()["fix"]


def test_a_start_class_must_fit_a_conditional_checkpoint(conditional, run):
    with pytest.raises(DCGANError, match="no class 'huge' in this model"):
        Explorer([conditional], start_class="huge")
    with pytest.raises(DCGANError, match="none of the checkpoints is class-conditional"):
        Explorer([run], start_class="0")
    both = Explorer([run, conditional], start_class="small").describe()
    assert {(tuple(c["classes"]), c["label"]) for c in both} == {((), None), (("small", "large"), 0)}
