"""Feature networks by name, as ``--features`` and ``eval_features`` give them.

    inception[:WEIGHTS.pth]      the FID standard's Inception-v3 (weights from the cache, or that file)
    domain:PATH                  a classifier from ``dcgan train-classifier`` (its folder or file; the folder
                                 alone is enough)
    domain                       the one bundled with the package, trained on MNIST (the default run's judge)
    discriminator[:CHECKPOINT]   D's section-5 features: of the evaluated checkpoint, or of a fixed one

Every figure is reported with the extractor's name, since scores from different networks are
not comparable.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch

from ..core.checkpoints import Checkpoint, load_checkpoint
from ..core.features import Extractor, discriminator_extractor
from ..errors import DCGANError
from .classifier import FILE_NAME as CLASSIFIER_FILE
from .classifier import domain_extractor
from .inception import inception_extractor

KINDS = ("inception", "domain", "discriminator")
USAGE = "inception[:WEIGHTS.pth], domain:CLASSIFIER_DIR, domain (the bundled MNIST one) or discriminator[:CHECKPOINT]"
BUNDLED_DOMAIN = "domain"  # no folder: the domain network shipped in the package, trained on all 60,000 MNIST digits


def bundled_domain_path() -> Path:
    """The MNIST domain classifier shipped inside the package (how it was trained: docs/metrics.md)."""
    return Path(str(resources.files("dcgan") / "assets" / "mnist-domain"))


def parse_features(spec: str) -> tuple[str, str | None]:
    """ "domain:runs/clf" -> ("domain", "runs/clf"); the kind is checked, the path is not read yet.

    A bare folder written by ``dcgan train-classifier`` (it holds the classifier's file) is plainly a
    domain network, and is taken as one."""
    if (Path(spec) / CLASSIFIER_FILE).is_file():
        return "domain", spec
    kind, _, path = spec.partition(":")
    if kind not in KINDS:
        raise DCGANError(f"unknown feature network {spec!r}", f"use {USAGE}")
    return kind, path or None


def feature_network(
    spec: str, checkpoint: Checkpoint | str | Path | None = None, device: str | torch.device = "cpu"
) -> Extractor:
    """The extractor ``spec`` names; a bare ``discriminator`` takes D from ``checkpoint`` (a path, or one
    already loaded, which is not read again)."""
    kind, path = parse_features(spec)
    if kind == "inception":
        return inception_extractor(path, device)
    if kind == "domain":
        if path is None:
            return domain_extractor(bundled_domain_path(), device, name="domain (bundled, trained on MNIST)")
        return domain_extractor(path, device)
    source = path or checkpoint
    if source is None:
        raise DCGANError("--features discriminator needs a checkpoint", "write discriminator:CHECKPOINT")
    ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    shown = source.path if isinstance(source, Checkpoint) else source
    return discriminator_extractor(ckpt.network("D"), name=f"discriminator:{shown} (section-5 features)", device=device)
