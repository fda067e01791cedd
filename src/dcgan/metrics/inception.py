"""The Inception-v3 network of the FID standard, built here (torchvision does not run on this project's torch).

FID figures are only comparable when computed with one network: the TensorFlow Inception of
2015-12-05, as ported to PyTorch in ``pt_inception-2015-12-05-6726825d.pth`` (the weights
pytorch-fid uses). This module builds that architecture with the same parameter names and
shapes, including the FID variant's blocks (average pools that ignore padding, a max pool in
the last block), so the file loads as it is. Features are the 2048-d average pool after
``Mixed_7c``; inputs are resized to 299x299 (bilinear) and scaled to [-1, 1] as the
reference does. The weights are never fetched unless asked (:func:`download_weights`);
offline, a missing file is a :class:`DCGANError` saying where to put it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..core.features import Extractor
from ..core.images import resized_unit_range
from ..data.cache import cache_root
from ..errors import DCGANError

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_NAME}"
WEIGHTS_SHA256_PREFIX = "6726825d"  # the hash in the name, as torch.hub names files
SIZE = 299
FEATURES = 2048


class Conv(nn.Module):
    """Convolution without bias, BatchNorm (eps 0.001, as TensorFlow's), ReLU."""

    def __init__(self, cin: int, cout: int, kernel, stride: int = 1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 average, stride 1, padding not counted: TensorFlow's pooling, which the FID blocks keep."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class BlockA(nn.Module):  # Mixed_5b..5d
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = Conv(cin, 64, 1)
        self.branch5x5_1 = Conv(cin, 48, 1)
        self.branch5x5_2 = Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = Conv(cin, 64, 1)
        self.branch3x3dbl_2 = Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, 3, padding=1)
        self.branch_pool = Conv(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool(x))], 1)


class BlockB(nn.Module):  # Mixed_6a: 35x35 -> 17x17
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = Conv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = Conv(cin, 64, 1)
        self.branch3x3dbl_2 = Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = Conv(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class BlockC(nn.Module):  # Mixed_6b..6e: factorised 7x7 convolutions
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = Conv(cin, 192, 1)
        self.branch7x7_1 = Conv(cin, c7, 1)
        self.branch7x7_2 = Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = Conv(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = Conv(cin, c7, 1)
        self.branch7x7dbl_2 = Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = Conv(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = Conv(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = Conv(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = Conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg_pool(x))], 1)


class BlockD(nn.Module):  # Mixed_7a: 17x17 -> 8x8
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = Conv(cin, 192, 1)
        self.branch3x3_2 = Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = Conv(cin, 192, 1)
        self.branch7x7x3_2 = Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Conv(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class BlockE(nn.Module):  # Mixed_7b (average pool) and Mixed_7c (max pool: the FID network's quirk)
    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Conv(cin, 320, 1)
        self.branch3x3_1 = Conv(cin, 384, 1)
        self.branch3x3_2a = Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Conv(cin, 448, 1)
        self.branch3x3dbl_2 = Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = Conv(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """Inception-v3 as the FID standard uses it; ``forward`` gives the 2048-d pool features."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = Conv(80, 192, 3)
        self.Mixed_5b = BlockA(192, 32)
        self.Mixed_5c = BlockA(256, 64)
        self.Mixed_5d = BlockA(288, 64)
        self.Mixed_6a = BlockB(288)
        self.Mixed_6b = BlockC(768, 128)
        self.Mixed_6c = BlockC(768, 160)
        self.Mixed_6d = BlockC(768, 160)
        self.Mixed_6e = BlockC(768, 192)
        self.Mixed_7a = BlockD(768)
        self.Mixed_7b = BlockE(1280, max_pool=False)
        self.Mixed_7c = BlockE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURES, 1008)  # the 1008 ImageNet logits: in the file, unused for FID

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] at 299x299 -> (N, 2048)."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def to_inception_input(batch: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> (N, 3, 299, 299) in [-1, 1], bilinear. The reference resizes [0, 1] pixels and then
    maps them to 2x - 1; both steps are linear, so resizing after the mapping gives the same values."""
    return resized_unit_range(batch, SIZE, 3)


def default_weights_path() -> Path:
    """Where the weights are looked for when no path is given: the dcgan cache folder."""
    return cache_root() / "weights" / WEIGHTS_NAME


def _missing(path: Path) -> DCGANError:
    return DCGANError(
        f"the Inception FID weights {path} are not there (they are never downloaded unless asked)",
        f"put {WEIGHTS_NAME} (from {WEIGHTS_URL}) at {default_weights_path()} or pass its path as inception:PATH;"
        " or fetch it once with 'dcgan evaluate --download-inception'; offline, use a domain network"
        " (dcgan train-classifier) or D's features instead",
    )


def load_inception(path: str | Path | None = None) -> FIDInception:
    """The FID network with the weights at ``path`` (default: the cache), in eval mode; no pickle."""
    path = Path(path).expanduser() if path else default_weights_path()
    if not path.is_file():
        raise _missing(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged or foreign file: torch raises many kinds
        raise DCGANError(
            f"cannot read {path} as Inception weights ({type(exc).__name__}: {exc})", _missing(path).fix
        ) from None
    net = FIDInception()
    expected = {k: v.shape for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    got = {k: v.shape for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if expected != got:
        wrong = sorted(set(expected) ^ set(got)) or [k for k in expected if expected[k] != got[k]]
        raise DCGANError(
            f"{path} does not hold the FID Inception weights ({len(wrong)} names or shapes differ, e.g. {wrong[0]})",
            f"use {WEIGHTS_NAME} from {WEIGHTS_URL}",
        )
    net.load_state_dict(state, strict=False)  # num_batches_tracked is not needed in eval mode
    return net.eval()


def download_weights(dest: Path | None = None) -> Path:
    """Fetch the weights file (only when the user asks), check the hash in its name, return its path."""
    import urllib.request  # only this explicit request ever touches the network

    dest = dest or default_weights_path()
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        urllib.request.urlretrieve(WEIGHTS_URL, part)
    except OSError as exc:
        raise DCGANError(f"cannot download {WEIGHTS_URL} ({exc})", _missing(dest).fix) from None
    digest = hashlib.sha256(part.read_bytes()).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        part.unlink()
        raise DCGANError(f"{WEIGHTS_URL} does not match the hash in its name", "run the command again")
    part.replace(dest)
    return dest


def inception_extractor(path: str | Path | None = None, device: str | torch.device = "cpu") -> Extractor:
    """The FID standard's features of uint8 images of any size and 1 or 3 channels."""
    net = load_inception(path).to(device)

    def fn(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return net(to_inception_input(batch.to(device))).float().cpu()

    return Extractor("inception-v3 (pt_inception-2015-12-05)", FEATURES, fn, max_batch=64)
