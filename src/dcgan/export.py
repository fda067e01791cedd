"""The generator outside PyTorch training code: ONNX and TorchScript files, and generator-only safetensors files.

ONNX and TorchScript take z (batch, nz) and return images (batch, C, H, W) in [-1, 1], for any
batch size, and carry the checkpoint's metadata (architecture, run config, progress) as JSON under
:data:`META_KEY`: ONNX in ``metadata_props``, TorchScript as an extra file. BatchNorm is
exported in eval mode, as every sample dcgan draws.

A class-conditional G takes a second input, ``labels``: int64 class indices (batch,), as
``G(z, labels)`` takes them in PyTorch. Indices rather than one-hot rows: one number per image,
which no caller can get half right; the one-hot maps are made inside the graph. An index outside
0 to K-1 matches no class (G draws with no class at all), so callers check the range; the class
names are in the metadata's ``classes``. Exported with a class fixed (``label``), G takes z alone.

A generator-only file (``safetensors``) is G alone in dcgan's own container, fp32 or fp16, with a
header that says all a reader needs (:func:`generator_file_meta`); every command that reads a
checkpoint for its G reads it too. It is the small file a trained model is shared as; a conditional
G's file keeps every class (its names in the header), so it takes no fixed class.
"""

from __future__ import annotations

import io
import json
import subprocess
import warnings
from pathlib import Path

import torch

from . import __version__
from .core.checkpoints import AVERAGE, Checkpoint, load_checkpoint, save_generator
from .core.models import Generator
from .core.sampling import OneClass, at_class
from .core.tensorfile import atomic_write
from .errors import DCGANError
from .training import Position

FORMATS = ("onnx", "torchscript", "safetensors")
META_KEY = "dcgan"  # ONNX metadata_props key / TorchScript extra file name holding the JSON metadata
ONNX_OPSET = 17


def _contiguous(G: Generator | OneClass) -> Generator | OneClass:
    """An eval-mode CPU copy in the default memory format (exporters trace plain NCHW tensors)."""
    if isinstance(G, OneClass):
        return OneClass(_contiguous(G.net), G.label)
    copy = Generator(G.spec)
    copy.load_state_dict(G.state_dict())
    return copy.eval()


def _example_inputs(G: Generator | OneClass) -> dict[str, torch.Tensor]:
    """What G is traced with, by input name: z, and the labels of a conditional G whose class is not fixed."""
    z = torch.zeros(2, G.spec.nz)
    takes_labels = G.spec.num_classes and not isinstance(G, OneClass)
    return {"z": z} | ({"labels": torch.zeros(2, dtype=torch.long)} if takes_labels else {})


def onnx_bytes(G: Generator | OneClass, meta: dict) -> bytes:
    """G as an ONNX model: input ``z`` (and ``labels``), output ``images``, a dynamic batch axis, ``meta`` in
    metadata_props."""
    try:
        import onnx
    except ImportError:
        raise DCGANError("ONNX export needs the onnx package", "pip install 'dcgan[export]'") from None
    buf = io.BytesIO()
    inputs = _example_inputs(G)
    batch = {0: "batch"}
    with warnings.catch_warnings():  # the TorchScript-based exporter: no extra dependency, and G has no control flow
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            _contiguous(G),
            tuple(inputs.values()),
            buf,
            input_names=list(inputs),
            output_names=["images"],
            dynamic_axes={name: batch for name in [*inputs, "images"]},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    model.metadata_props.add(key=META_KEY, value=json.dumps(meta))
    return model.SerializeToString()


def torchscript_bytes(G: Generator | OneClass, meta: dict) -> bytes:
    """G as a traced TorchScript module (the batch size stays free), ``meta`` as the extra file ``dcgan``."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch.jit is deprecated, but it is what C++ and older runtimes load
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(_contiguous(G), tuple(_example_inputs(G).values()))
        torch.jit.save(traced, buf, _extra_files={META_KEY: json.dumps(meta)})
    return buf.getvalue()


def source_commit() -> str | None:
    """The git commit of the code writing a file, where this package runs from a git checkout (``src/dcgan`` of a
    clone); None elsewhere (an installed wheel) or when git cannot say."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def generator_file_meta(ckpt: Checkpoint, name: str, recipe: dict | None = None) -> dict:
    """What a generator-only file's header says of the G ``name`` of ``ckpt``: which G, its noise and classes,
    the data set (as the checkpoint records it), where the run stood (steps, images seen), the run's config, the
    ``recipe`` whose training stage it is (``{"recipe", "scale", "stage"}``, see
    :func:`dcgan.reproduce.recipe_of`), and the commit and version that wrote it.

    A generator-only file exported again (to fp16, say) keeps what its first export recorded."""
    if ckpt.generator_only:
        return {k: v for k, v in ckpt.meta.items() if k not in ("format", "model", "networks", "dtype")}
    about = {
        "generator": "ema" if name == AVERAGE else "raw",
        "noise": ckpt.noise,
        "class_names": ckpt.class_names,
        "data": ckpt.meta.get("data"),
        "epoch": None,  # None: a file from elsewhere (pytorch/examples) that does not say
        "step": None,
    }
    position = Position.of_checkpoint(ckpt.meta)
    if position is not None:
        counters = ("epoch", "batch_in_epoch", "step", "num_images", "world_size", "images_seen")
        about |= {key: getattr(position, key) for key in counters}
    about["config"] = ckpt.meta["config"]
    about |= {"recipe": recipe} if recipe else {}
    commit = source_commit()
    return about | ({"commit": commit} if commit else {}) | {"version": __version__}


def export_generator(
    checkpoint: str | Path | Checkpoint,
    fmt: str,
    out: str | Path,
    generator: str = "auto",
    dtype: str = "fp32",
    recipe: dict | None = None,
    label: int | None = None,
) -> Path:
    """Write the generator of ``checkpoint`` (file, run folder, or one already loaded; ``generator``: 'auto', 'ema' or 'raw') to ``out``
    as ``fmt`` (onnx, torchscript, or safetensors: a generator-only file, its weights as ``dtype``, fp32 or fp16,
    ``recipe`` in its header, see :func:`generator_file_meta`); a conditional G's onnx or torchscript file takes z and
    labels, or z alone when ``label`` fixes its class."""
    if fmt not in FORMATS:
        raise DCGANError(f"unknown export format {fmt!r}", f"choose one of {', '.join(FORMATS)}")
    if dtype != "fp32" and fmt != "safetensors":
        raise DCGANError(f"--dtype {dtype} is for --format safetensors", "onnx and torchscript files are fp32")
    if label is not None and fmt == "safetensors":
        raise DCGANError(
            "--class is for --format onnx or torchscript: a generator-only file keeps every class of its G",
            "leave out --class (each command reading the file takes its own --class)",
        )
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    name = ckpt.generator_name(generator)
    G = ckpt.network(name)
    if fmt == "safetensors":
        return save_generator(out, G, name, generator_file_meta(ckpt, name, recipe), dtype)
    meta = {
        "checkpoint": str(ckpt.path),
        "model": ckpt.meta["model"],
        "config": ckpt.meta["config"],
        "epoch": ckpt.meta["epoch"],
        "step": ckpt.meta["step"],
        "generator": "averaged (--ema)" if name != "G" else "raw",
        "input": "z (batch, nz), " + ("N(0, 1)" if ckpt.noise == "normal" else "U[-1, 1]") + _labels_input(ckpt, label),
        "output": "images (batch, channels, height, width) in [-1, 1]",
    } | ({"classes": ckpt.class_names} if ckpt.spec.num_classes else {})
    G = G if label is None else at_class(G, label)
    data = onnx_bytes(G, meta) if fmt == "onnx" else torchscript_bytes(G, meta)
    out = Path(out)
    atomic_write(out, data)
    return out


def _labels_input(ckpt: Checkpoint, label: int | None) -> str:
    """The metadata's words for the labels input of a conditional G, or for its fixed class."""
    if not ckpt.spec.num_classes:
        return ""
    if label is not None:
        return f"; class {label} fixed (the names: classes)"
    return f"; labels (batch,) int64 class indices 0 to {ckpt.spec.num_classes - 1} (the names: classes)"
