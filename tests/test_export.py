"""Generator export, from Python and the command line: ONNX (run with onnxruntime) and TorchScript match PyTorch for
batch 1 and 7, metadata included; a conditional G's files take its labels (or a class fixed at export)."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import DCGANError, load_generator, train
from dcgan.cli import main
from dcgan.core.sampling import generate
from dcgan.export import META_KEY, export_generator

TOLERANCE = 1e-5  # absolute, on images in [-1, 1]: float32 round-off of the same operations in another runtime


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    train(tiny_config(folder, epochs=1, resolution=16), blobs(64))
    return folder / "run"


def expected(run, batch: int) -> tuple[np.ndarray, np.ndarray]:
    z = torch.randn(batch, 16, generator=torch.Generator().manual_seed(batch))
    return z.numpy(), generate(load_generator(run), z).numpy()


@pytest.mark.parametrize("via", ["python", "command line"])
def test_onnx_matches_pytorch_for_any_batch(run, tmp_path, capsys, via):
    path = tmp_path / "g.onnx"
    if via == "python":
        assert export_generator(run, "onnx", path) == path
    else:
        assert main(["export", "--checkpoint", str(run), "--format", "onnx", "-o", str(path)]) == 0
        assert capsys.readouterr().out == f"wrote {path}\n"
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"] and [o.name for o in session.get_outputs()] == ["images"]
    for batch in (1, 7):
        z, images = expected(run, batch)
        (out,) = session.run(None, {"z": z})
        assert out.shape == (batch, 1, 16, 16) and out.min() >= -1 and out.max() <= 1
        np.testing.assert_allclose(out, images, atol=TOLERANCE, rtol=0)
    meta = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}[META_KEY])
    assert meta["model"]["nz"] == 16 and meta["config"]["g_width"] == 8 and meta["epoch"] == 1


def test_torchscript_matches_pytorch_for_any_batch(run, tmp_path, capsys):
    out_path = tmp_path / "g.pt"
    assert main(["export", "--checkpoint", str(run), "--format", "torchscript", "-o", str(out_path)]) == 0
    assert str(out_path) in capsys.readouterr().out
    extra = {META_KEY: ""}
    module = torch.jit.load(str(out_path), _extra_files=extra)
    for batch in (1, 7):
        z, images = expected(run, batch)
        with torch.no_grad():
            out = module(torch.from_numpy(z)).numpy()
        assert out.shape == (batch, 1, 16, 16)
        np.testing.assert_allclose(out, images, atol=TOLERANCE, rtol=0)
    assert json.loads(extra[META_KEY])["model"]["resolution"] == 16


def test_bad_export_requests_are_readable_errors(run, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tmp_path / "none"), "--format", "onnx", "-o", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(Exception, match="unknown export format"):
        export_generator(run, "tflite", tmp_path / "g.tflite")


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export-conditional")
    train(tiny_config(folder, epochs=1, resolution=16, conditional=True), blobs(64))  # classes small, large
    return folder / "run"


def drawn(run, z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return generate(load_generator(run), torch.from_numpy(z), torch.from_numpy(labels)).numpy()


def test_a_conditional_generator_exports_with_its_labels_as_a_second_input(conditional_run, tmp_path):
    z = torch.randn(7, 16, generator=torch.Generator().manual_seed(7)).numpy()
    labels = np.array([0, 1, 1, 0, 1, 0, 0])
    onnx_path, script_path = tmp_path / "g.onnx", tmp_path / "g.pt"
    assert main(["export", "--checkpoint", str(conditional_run), "--format", "onnx", "-o", str(onnx_path)]) == 0
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("z", "tensor(float)"), ("labels", "tensor(int64)")]
    for batch in (1, 7):
        (out,) = session.run(None, {"z": z[:batch], "labels": labels[:batch]})
        np.testing.assert_allclose(out, drawn(conditional_run, z[:batch], labels[:batch]), atol=TOLERANCE, rtol=0)
    assert not np.allclose(out, drawn(conditional_run, z, 1 - labels), atol=1e-3)  # the labels are used
    meta = json.loads({p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}[META_KEY])
    assert meta["classes"] == ["small", "large"] and "labels (batch,) int64 class indices 0 to 1" in meta["input"]

    assert export_generator(conditional_run, "torchscript", script_path) == script_path
    module = torch.jit.load(str(script_path))
    with torch.no_grad():
        out = module(torch.from_numpy(z), torch.from_numpy(labels)).numpy()
    np.testing.assert_allclose(out, drawn(conditional_run, z, labels), atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_conditional_generator_exported_at_one_class_takes_z_alone(conditional_run, tmp_path, capsys, fmt):
    path = tmp_path / f"large.{fmt}"
    argv = ["export", "--checkpoint", str(conditional_run), "--class", "large", "--format", fmt, "-o", str(path)]
    assert main(argv) == 0
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(5)).numpy()
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["z"]
        (out,) = session.run(None, {"z": z})
    else:
        with torch.no_grad():
            out = torch.jit.load(str(path))(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(out, drawn(conditional_run, z, np.ones(5, dtype=np.int64)), atol=TOLERANCE, rtol=0)


def test_export_classes_that_do_not_fit_the_model_are_readable_errors(run, conditional_run, tmp_path, capsys):
    argv = ["--format", "onnx", "-o", str(tmp_path / "g.onnx")]
    assert main(["export", "--checkpoint", str(conditional_run), "--class", "huge", *argv]) == 2
    assert "no class 'huge' in this model" in capsys.readouterr().err
    with pytest.raises(DCGANError, match="no class 2 in a network of 2 classes"):
        export_generator(conditional_run, "onnx", tmp_path / "g.onnx", label=2)
    with pytest.raises(DCGANError, match="not class-conditional"):
        export_generator(run, "onnx", tmp_path / "g.onnx", label=0)
