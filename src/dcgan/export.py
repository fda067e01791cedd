"""The generator outside PyTorch training code: ONNX and TorchScript files.

Both take z (batch, nz) and return images (batch, C, H, W) in [-1, 1], for any batch size,
and carry the checkpoint's metadata (architecture, run config, progress) as JSON under
:data:`META_KEY`: ONNX in ``metadata_props``, TorchScript as an extra file. BatchNorm is
exported in eval mode, as every sample dcgan draws.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch

from .core.checkpoints import load_checkpoint
from .core.models import Generator
from .core.tensorfile import atomic_write
from .errors import DCGANError

FORMATS = ("onnx", "torchscript")
META_KEY = "dcgan"  # ONNX metadata_props key / TorchScript extra file name holding the JSON metadata
ONNX_OPSET = 17


def _contiguous(G: Generator) -> Generator:
    """An eval-mode CPU copy in the default memory format (exporters trace plain NCHW tensors)."""
    copy = Generator(G.spec)
    copy.load_state_dict(G.state_dict())
    return copy.eval()


def onnx_bytes(G: Generator, meta: dict) -> bytes:
    """G as an ONNX model: input ``z``, output ``images``, a dynamic batch axis, ``meta`` in metadata_props."""
    try:
        import onnx
    except ImportError:
        raise DCGANError("ONNX export needs the onnx package", "pip install 'dcgan[export]'") from None
    buf = io.BytesIO()
    z = torch.zeros(2, G.spec.nz)
    batch = {0: "batch"}
    with warnings.catch_warnings():  # the TorchScript-based exporter: no extra dependency, and G has no control flow
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            _contiguous(G),
            (z,),
            buf,
            input_names=["z"],
            output_names=["images"],
            dynamic_axes={"z": batch, "images": batch},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    model.metadata_props.add(key=META_KEY, value=json.dumps(meta))
    return model.SerializeToString()


def torchscript_bytes(G: Generator, meta: dict) -> bytes:
    """G as a traced TorchScript module (the batch size stays free), ``meta`` as the extra file ``dcgan``."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch.jit is deprecated, but it is what C++ and older runtimes load
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(_contiguous(G), torch.zeros(2, G.spec.nz))
        torch.jit.save(traced, buf, _extra_files={META_KEY: json.dumps(meta)})
    return buf.getvalue()


def export_generator(checkpoint: str | Path, fmt: str, out: str | Path, generator: str = "auto") -> Path:
    """Write the generator of ``checkpoint`` (file or run folder; ``generator``: 'auto', 'ema' or 'raw') to ``out``
    as ``fmt`` (onnx or torchscript)."""
    if fmt not in FORMATS:
        raise DCGANError(f"unknown export format {fmt!r}", f"choose one of {', '.join(FORMATS)}")
    ckpt = load_checkpoint(checkpoint)
    name = ckpt.generator_name(generator)
    meta = {
        "checkpoint": str(ckpt.path),
        "model": ckpt.meta["model"],
        "config": ckpt.meta["config"],
        "epoch": ckpt.meta["epoch"],
        "step": ckpt.meta["step"],
        "generator": "averaged (--ema)" if name != "G" else "raw",
        "input": "z (batch, nz), " + ("N(0, 1)" if ckpt.noise == "normal" else "U[-1, 1]"),
        "output": "images (batch, channels, height, width) in [-1, 1]",
    }
    G = ckpt.network(name)
    data = onnx_bytes(G, meta) if fmt == "onnx" else torchscript_bytes(G, meta)
    out = Path(out)
    atomic_write(out, data)
    return out
