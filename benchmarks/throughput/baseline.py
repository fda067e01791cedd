"""The reference: the pytorch/examples DCGAN pipeline, files decoded per item by DataLoader workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .measure import device_of, flops_per_image, spec_of, sync


class PerItemFolder(torch.utils.data.Dataset):
    """torchvision's ImageFolder + Resize + CenterCrop + ToTensor + Normalize, per item, in PIL/numpy."""

    def __init__(self, root: Path, size: int):
        self.paths = sorted(root.rglob("*.jpg"))
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        img = Image.open(self.paths[i]).convert("RGB")
        w, h = img.size
        scale = self.size / min(w, h)  # Resize(size): shorter side to size, bilinear
        img = img.resize(
            (max(self.size, round(w * scale)), max(self.size, round(h * scale))), Image.Resampling.BILINEAR
        )
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2  # CenterCrop(size)
        img = img.crop((left, top, left + self.size, top + self.size))
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)  # ToTensor
        return (x - 0.5) / 0.5, 0  # Normalize((0.5,)*3, (0.5,)*3)


def reference_pipeline(cfg: dict, folder: Path) -> tuple[torch.utils.data.DataLoader, Callable, dict]:
    """The example's loader, its training step (one batch of real images in, the two losses out) and its nets."""
    from dcgan import Discriminator, Generator

    torch.manual_seed(0)
    device = device_of(cfg)
    spec = spec_of(cfg)
    G, D = Generator(spec).to(device), Discriminator(spec).to(device)
    bce = torch.nn.BCELoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(
        PerItemFolder(folder, cfg["resolution"]), batch_size=cfg["batch"], shuffle=True, num_workers=2
    )

    def step(real):
        real = real.to(device)
        D.zero_grad()
        out = torch.sigmoid(D(real))
        err_real = bce(out, torch.ones_like(out))
        err_real.backward()
        fake = G(torch.randn(real.shape[0], spec.nz, 1, 1, device=device))
        out = torch.sigmoid(D(fake.detach()))
        err_fake = bce(out, torch.zeros_like(out))
        err_fake.backward()
        opt_d.step()
        G.zero_grad()
        out = torch.sigmoid(D(fake))
        err_g = bce(out, torch.ones_like(out))
        err_g.backward()
        opt_g.step()
        return err_real.item() + err_fake.item(), err_g.item()  # the example's per-step logging

    return loader, step, {"G": G, "D": D}


def measure_baseline(cfg: dict, folder: Path) -> dict:
    device = device_of(cfg)
    loader, step, _ = reference_pipeline(cfg, folder)
    batches = iter(loader)
    first = next(batches)[0]
    flops = flops_per_image(lambda: step(first), cfg["batch"])
    for _ in range(cfg["warmup"] - 1):
        step(next(batches)[0])
    sync(device)
    start = time.perf_counter()
    for _ in range(cfg["steps"]):
        step(next(batches)[0])
    sync(device)  # its .item() calls already wait for each step
    elapsed = time.perf_counter() - start
    return {"images_per_s": cfg["steps"] * cfg["batch"] / elapsed, "flops_per_image": flops}
