"""Generator export, from Python and the command line: ONNX (run with onnxruntime) and TorchScript match PyTorch for
batch 1 and 7, metadata included."""

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import load_generator, train
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
