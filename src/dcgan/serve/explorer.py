"""What the explorer can do, without HTTP: sheets, walks, arithmetic and directions on named checkpoints.

Each method is the Python API the CLI uses (:mod:`dcgan.core.sampling`,
:mod:`dcgan.experiments.latent`), given z as tensors and returning images as PNG bytes plus
the z behind them, so the page can send any z back for the next step and download it as a
z file. Checkpoints are loaded when first used and a few are kept in memory.
"""

from __future__ import annotations

import io
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.checkpoints import NOT_A_CHECKPOINT, Checkpoint, checkpoint_meta, resolve_checkpoint_path
from ..core.images import numbered_grid, to_pil, to_uint8
from ..core.models import Generator
from ..core.rundir import RunDir
from ..core.sampling import at_class, class_index, render, sample_noise, seeded
from ..core.tensorfile import load_tensors
from ..errors import DCGANError
from ..experiments import latent

KEEP_LOADED = 4  # generators held in memory at once


@dataclass(frozen=True)
class Source:
    """A checkpoint the explorer offers, under a short name."""

    name: str
    path: Path


def find_checkpoints(paths: list[str | Path]) -> list[Source]:
    """Every checkpoint behind ``paths``: a file itself; a run folder its last and every epoch checkpoint."""
    sources: dict[str, Source] = {}
    for given in paths:
        given = Path(given).expanduser()
        if given.is_dir():
            run = RunDir(given)
            files = [resolve_checkpoint_path(given), *sorted(run.checkpoints.glob("epoch_[0-9]*.safetensors"))]
            named = [(f"{given.name}/{f.stem}", f) for f in files]
        else:
            path = resolve_checkpoint_path(given)
            named = [
                (f"{path.parent.parent.name}/{path.stem}" if path.parent.name == "checkpoints" else path.stem, path)
            ]
        for name, path in named:
            unique, k = name, 2
            while unique in sources:
                unique, k = f"{name} ({k})", k + 1
            sources[unique] = Source(unique, path)
    return list(sources.values())


def png(images: torch.Tensor) -> list[bytes]:
    """One PNG per image (N, C, H, W) in [-1, 1]."""
    out = []
    for pixels in to_uint8(images):
        buf = io.BytesIO()
        to_pil(pixels).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def grid_png(images: torch.Tensor, nrow: int | None = None) -> bytes:
    buf = io.BytesIO()
    numbered_grid(images, nrow).save(buf, "PNG")
    return buf.getvalue()


class Explorer:
    """Named checkpoints and the latent-space operations on them.

    A class-conditional checkpoint draws one class at a time: every operation takes its class index, ``label``
    (the page's class menu), and :meth:`describe` lists its classes and the class the page starts at
    (``start_class``, by name or index, where a conditional checkpoint has it; else its first class).
    """

    def __init__(
        self,
        paths: list[str | Path],
        device: str | torch.device = "cpu",
        generator: str = "auto",
        start_class: str | None = None,
    ):
        self.sources = {s.name: s for s in find_checkpoints(paths)}
        if not self.sources:
            raise DCGANError("no checkpoint to explore", "pass --checkpoint RUN_DIR or a .safetensors file")
        headers = [self._header(source.path) for source in self.sources.values()]
        for ckpt in headers:  # a wrong file fails here, at start, not later in the page
            ckpt.generator_name(generator)
        if start_class is not None and not any(ckpt.spec.num_classes for ckpt in headers):
            raise DCGANError(
                "none of the checkpoints is class-conditional: a start class means nothing to them",
                "leave out --class (it is for models trained with --conditional)",
            )
        self.start_labels = {  # a class missing from a conditional checkpoint fails here too
            name: class_index(start_class, ckpt.class_names) if start_class is not None else 0
            for name, ckpt in zip(self.sources, headers, strict=True)
            if ckpt.spec.num_classes
        }
        self.device = torch.device(device)
        self.generator = generator  # 'auto', 'ema' or 'raw': which of each checkpoint's generators is explored
        self._loaded: OrderedDict[str, tuple[Checkpoint, Generator]] = OrderedDict()

    def describe(self) -> list[dict]:
        """Name, architecture and progress of every checkpoint, from the files' headers; a conditional one's class
        names and start class index (``label``)."""
        out = []
        for name, source in self.sources.items():
            ckpt = self._header(source.path)
            spec = ckpt.spec
            info = {"nz": spec.nz, "resolution": spec.resolution, "channels": spec.channels, "noise": ckpt.noise}
            classes = {"classes": ckpt.class_names if spec.num_classes else [], "label": self.start_labels.get(name)}
            out.append({"name": name, "epoch": ckpt.meta["epoch"], "step": ckpt.meta["step"], **info, **classes})
        return out

    @staticmethod
    def _header(path: Path) -> Checkpoint:
        """A checkpoint's metadata without its tensors."""
        return Checkpoint(path, {}, checkpoint_meta(path))

    def open(self, name: str) -> tuple[Checkpoint, Generator]:
        """The checkpoint and its generator (G's tensors only), loaded on first use; the least recently used go."""
        if name not in self.sources:
            raise DCGANError(f"no checkpoint named {name!r}", f"choose one of {', '.join(self.sources)}")
        if name not in self._loaded:
            ckpt = self._header(self.sources[name].path)
            prefix = ckpt.generator_name(self.generator)
            names = [f"{prefix}.{key}" for key in Generator(ckpt.spec).state_dict()]
            ckpt.tensors = load_tensors(ckpt.path, *NOT_A_CHECKPOINT, names=names)[0]
            self._loaded[name] = (ckpt, ckpt.network(prefix).to(self.device))
            while len(self._loaded) > KEEP_LOADED:
                self._loaded.popitem(last=False)
        self._loaded.move_to_end(name)
        return self._loaded[name]

    def z(self, name: str, rows: list[list[float]]) -> torch.Tensor:
        """Rows of z from a request, checked against the checkpoint's nz."""
        nz = self.open(name)[0].spec.nz
        z = torch.tensor(rows, dtype=torch.float32)
        if z.dim() != 2 or z.shape[1] != nz:
            raise DCGANError(
                f"z must be rows of {nz} numbers for {name!r}, got shape {tuple(z.shape)}",
                "use samples drawn from this checkpoint (draw a new sheet after switching checkpoints)",
            )
        return z

    def images(self, name: str, z: torch.Tensor, label: int | None = None) -> torch.Tensor:
        """G(z) of checkpoint ``name``, at class ``label`` for a conditional one."""
        return render(at_class(self.open(name)[1], label), z)

    def sheet(self, name: str, seed: int, n: int, label: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, images) of ``n`` samples drawn with ``seed``: the cells of ``dcgan sample --sheet`` (``--class``)."""
        ckpt = self.open(name)[0]
        z = sample_noise(n, ckpt.spec.nz, ckpt.noise, seeded(seed))
        return z, self.images(name, z, label)

    def walk(
        self, name: str, points: torch.Tensor, steps: int, spherical: bool, label: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, images), each (segments, steps, ...), through ``points`` in order."""
        rows = latent.walk(points, steps, spherical)
        return rows, self.images(name, rows, label)

    def arithmetic(
        self,
        name: str,
        expression: str,
        concepts: dict[str, torch.Tensor],
        n: int,
        scale: float,
        seed: int,
        label: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, images) of Y and ``n`` samples of Y + noise (figure 7)."""
        result = latent.vector_arithmetic(expression, concepts, n, scale, seed)
        return result.outputs, self.images(name, result.outputs, label)

    def direction(
        self,
        name: str,
        positive: torch.Tensor,
        negative: torch.Tensor,
        z: torch.Tensor,
        strengths: torch.Tensor,
        label: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, images), each (N, S, ...): every z moved along mean(positive) - mean(negative)."""
        moved = latent.along(z, latent.direction(positive, negative), strengths)
        return moved, self.images(name, moved, label)


def safe_stem(text: str) -> str:
    """A file name stem made of letters, digits, dots, dashes and underscores."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "z"
