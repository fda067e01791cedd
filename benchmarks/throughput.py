"""Training throughput: the pytorch/examples DCGAN pipeline against ours, interleaved, on real images.

    python -m benchmarks.throughput            # full run (tens of minutes on 2 cores)
    python -m benchmarks.throughput --quick    # under a minute: checks that everything runs

Every measurement runs in a fresh subprocess (so peak memory is its own and no state leaks
between configurations), and configurations are interleaved (baseline, ours, baseline, ours,
...) so that a shared, noisy machine slows all of them alike: compare ratios, not absolutes.

The baseline follows the pytorch/examples dcgan pipeline as documented there, written here
without torchvision: an image-folder dataset that opens each file with PIL per item and
applies resize + centre crop + to-tensor + normalise per item, a DataLoader with 2 workers
and batch 128, eager fp32 NCHW networks of the same architecture, Sigmoid + BCELoss, Adam,
D on a real then a fake batch, G on the same fake batch, and the per-step ``.item()`` reads
of its logging. Ours is ``Trainer.train_batch``, the exact code path of ``dcgan train``,
on images decoded once into memory (the one-off decode is timed separately).

FLOP utilisation = FLOPs per image per iteration (``torch.utils.flop_counter``) x images/s
divided by a peak measured in the same run: a large matmul and a DCGAN-shaped convolution.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

if TYPE_CHECKING:
    from dcgan.core.models import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
CIFAR_ZIP = ROOT.parent / "shared" / "data" / "cifar10-jpg.zip"
CIFAR_TRAIN = "cifar10/train"


# ---------------------------------------------------------------------------------------------
# data: the same real images for both pipelines
# ---------------------------------------------------------------------------------------------
def image_folder(count: int, cache: Path) -> Path:
    """The first ``count`` CIFAR-10 training JPEGs as an image folder (the baseline reads files);
    generated noise images when the real zip is absent."""
    folder = cache / f"images-{count}"
    if folder.is_dir() and len(list(folder.rglob("*.jpg"))) >= count:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if CIFAR_ZIP.exists():
        with zipfile.ZipFile(CIFAR_ZIP) as zf:
            names = sorted(n for n in zf.namelist() if n.startswith(CIFAR_TRAIN) and n.endswith(".jpg"))
            step = max(1, len(names) // count)  # spread over all classes
            for i, name in enumerate(names[::step][:count]):
                target = folder / Path(name).parent.name / f"{i:05d}.jpg"
                target.parent.mkdir(exist_ok=True)
                target.write_bytes(zf.read(name))
    else:
        rng = np.random.default_rng(0)
        for i in range(count):
            (folder / "noise").mkdir(exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / "noise" / f"{i:05d}.jpg")
    return folder


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


# ---------------------------------------------------------------------------------------------
# one measurement (runs in a subprocess)
# ---------------------------------------------------------------------------------------------
def _models(cfg: dict) -> ModelSpec:
    from dcgan.training import TrainConfig

    return TrainConfig(preset=cfg["preset"], resolution=cfg["resolution"], channels=3).model_spec()


def _device(cfg: dict) -> torch.device:
    from dcgan.core.device import pick_device

    return pick_device(cfg.get("device", "auto"))


def _sync(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read after it measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _flops_per_image(step, batch: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / batch


def measure_baseline(cfg: dict, folder: Path) -> dict:
    from dcgan.core.models import Discriminator, Generator

    torch.manual_seed(0)
    device = _device(cfg)
    spec = _models(cfg)
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

    batches = iter(loader)
    first = next(batches)[0]
    flops = _flops_per_image(lambda: step(first), cfg["batch"])
    for _ in range(cfg["warmup"] - 1):
        step(next(batches)[0])
    _sync(device)
    start = time.perf_counter()
    for _ in range(cfg["steps"]):
        step(next(batches)[0])
    _sync(device)  # its .item() calls already wait for each step
    elapsed = time.perf_counter() - start
    return {"images_per_s": cfg["steps"] * cfg["batch"] / elapsed, "flops_per_image": flops}


def measure_ours(cfg: dict, folder: Path) -> dict:
    from dcgan import TrainConfig, load_dataset
    from dcgan.training import Trainer

    start = time.perf_counter()
    data = load_dataset(folder, resolution=cfg["resolution"], channels=3)
    decode_s = time.perf_counter() - start
    config = TrainConfig(
        preset=cfg["preset"],
        batch_size=cfg["batch"],
        precision=cfg["precision"],
        channels_last=cfg["channels_last"],
        compile=cfg["compile"],
        device=cfg.get("device", "auto"),
        progress=False,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config, data, Path(run_dir))
        order = trainer.epoch_order(0)
        batches = [order[i * cfg["batch"] : (i + 1) * cfg["batch"]] for i in range(len(data) // cfg["batch"])]
        start = time.perf_counter()
        trainer.train_batch(data.images, batches[0])
        _sync(trainer.device)
        first_step_s = time.perf_counter() - start  # includes torch.compile's compilation when on
        flops = _flops_per_image(lambda: trainer.train_batch(data.images, batches[1 % len(batches)]), cfg["batch"])
        for i in range(cfg["warmup"]):
            trainer.train_batch(data.images, batches[i % len(batches)])
        torch.stack(trainer._pending).tolist()  # drain queued device work before timing
        trainer._pending.clear()
        start = time.perf_counter()
        for i in range(cfg["steps"]):
            trainer.train_batch(data.images, batches[i % len(batches)])
        torch.stack(trainer._pending).tolist()  # the loop's only host sync
        elapsed = time.perf_counter() - start
    return {
        "images_per_s": cfg["steps"] * cfg["batch"] / elapsed,
        "flops_per_image": flops,
        "decode_s": decode_s,
        "first_step_s": first_step_s,
    }


def measure_sampling(cfg: dict) -> dict:
    from dcgan import Generator, generate, sample_noise

    # laid out as Checkpoint.network("G") returns it for `dcgan sample`; generate() returns images on the host
    G = Generator(_models(cfg)).to(_device(cfg), memory_format=torch.channels_last)
    z = sample_noise(cfg["batch"] * 2, G.spec.nz)
    generate(G, z[: cfg["batch"]])
    start = time.perf_counter()
    generate(G, z, batch_size=cfg["batch"])
    return {"images_per_s": len(z) / (time.perf_counter() - start)}


def measure_peaks(cfg: dict) -> dict:
    """Machine limits in this run: a large matmul and a DCGAN-shaped convolution, fp32 and bf16."""

    device = _device(cfg)

    def rate(fn, flops):
        return flops / _median_seconds(fn, device)

    n = cfg.get("matmul_size") or (2048 if device.type == "cpu" else 8192)  # a GPU needs a bigger one to saturate
    out = {}
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
        out[f"matmul_{name}"] = rate(lambda a=a, b=b: a @ b, 2 * n**3)
        # D's 16x16 -> 8x8 layer of the small preset at 64x64, batch 128, forward + backward
        conv = torch.nn.Conv2d(128, 256, 4, 2, 1, bias=False)
        conv = conv.to(device, dtype=dtype, memory_format=torch.channels_last)
        x = torch.randn(cfg["batch"], 128, 16, 16, dtype=dtype, device=device)
        x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_(True)
        flops = 3 * 2 * cfg["batch"] * 256 * 8 * 8 * 128 * 16  # forward, grad input, grad weight

        def fwd_bwd(conv=conv, x=x):
            conv(x).sum().backward()

        out[f"conv_{name}"] = rate(fwd_bwd, flops)
    return out


def _median_seconds(fn: Callable[[], object], device: torch.device, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_convs(cfg: dict) -> dict:
    """Every convolution of one training step timed alone at its own shapes (no BatchNorm, activations, Adam).

    Their sum is what a step would cost if only its convolutions cost anything: this model's limit
    on this machine's convolution kernels, against which the whole step is compared. The schedule
    is ``train_step``'s: D's convolutions run forward three times (real, fake, fake again for G),
    their weight gradients twice (the G update skips them) and their input gradients three times,
    except the image layer's, needed only on the way back to G; G's run forward and backward once,
    and nothing needs the gradient with respect to z.
    """
    from torch.utils.flop_counter import FlopCounterMode

    from dcgan.core.models import Discriminator, Generator

    dtype = torch.bfloat16 if cfg["precision"] == "bf16" else torch.float32
    device = _device(cfg)
    spec = _models(cfg)
    images = torch.randn(cfg["batch"], spec.channels, spec.resolution, spec.resolution, dtype=dtype, device=device)
    nets = {
        "G": (Generator(spec), torch.randn(cfg["batch"], spec.nz, 1, 1, dtype=dtype, device=device)),
        "D": (Discriminator(spec), images.contiguous(memory_format=torch.channels_last)),
    }
    layers = []
    for net_name, (net, x) in nets.items():
        net = net.to(device, dtype=dtype, memory_format=torch.channels_last)
        for i, (block_name, block) in enumerate(net.blocks.items()):
            conv = block[0]
            args = (conv.weight.detach(), None, conv.stride, conv.padding, conv.dilation)
            args += (isinstance(conv, torch.nn.ConvTranspose2d), conv.output_padding, 1)
            with torch.no_grad():
                out = conv(x)
                grad = torch.randn_like(out)
                with FlopCounterMode(display=False) as counter:
                    conv(x)

            def forward(x=x, args=args):
                return torch.ops.aten.convolution(x, *args)

            def backward(mask, x=x, grad=grad, args=args):
                return lambda: torch.ops.aten.convolution_backward(grad, x, args[0], None, *args[2:], mask)

            first = i == 0
            counts = (
                {"forward": 3, "grad_input": 1 if first else 3, "grad_weight": 2}
                if net_name == "D"
                else {"forward": 1, "grad_input": 0 if first else 1, "grad_weight": 1}
            )
            seconds = {
                "forward": _median_seconds(forward, device),
                "grad_input": _median_seconds(backward([True, False, False]), device),
                "grad_weight": _median_seconds(backward([False, True, False]), device),
            }
            layers.append(
                {"layer": f"{net_name}.{block_name}", "flops": counter.get_total_flops(), "counts": counts}
                | {"seconds": seconds}
            )
            with torch.no_grad():
                x = block(x)
    step_s = sum(layer["seconds"][k] * n for layer in layers for k, n in layer["counts"].items())
    step_flops = sum(layer["flops"] * n for layer in layers for n in layer["counts"].values())
    return {"layers": layers, "images_per_s": cfg["batch"] / step_s, "flops_per_image": step_flops / cfg["batch"]}


def worker(cfg: dict) -> dict:
    torch.set_num_threads(cfg.get("threads") or torch.get_num_threads())
    kind = cfg["kind"]
    if kind == "peaks":
        result = measure_peaks(cfg)
    elif kind == "convs":
        result = measure_convs(cfg)
    elif kind == "sample":
        result = measure_sampling(cfg)
    else:
        folder = Path(cfg["folder"])
        result = measure_baseline(cfg, folder) if kind == "baseline" else measure_ours(cfg, folder)
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if torch.cuda.is_available() and _device(cfg).type == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result | {"peak_rss_mb": usage_self / 1024, "peak_rss_worker_mb": usage_children / 1024}


def run_worker(cfg: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.throughput", "--worker", json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {cfg}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------------------------
def configurations(quick: bool, compile_: bool, repeats: int, fp16: bool = False) -> list[dict]:
    """Rows of the main table. The headline case (64px, small, batch 128) gets every variant and ``repeats``
    measurements; the others get baseline / fp32 / bf16 defaults, the paper preset one measurement each."""
    defaults = [("ours fp32 (default)", "fp32", True), ("ours bf16", "bf16", True)]
    defaults += [("ours fp16", "fp16", True)] if fp16 else []  # GradScaler fp16 exists on CUDA only
    variants = [("ours fp32 NCHW", "fp32", False), ("ours bf16 NCHW", "bf16", False)]
    cases = (
        [(32, "small", defaults, repeats)]
        if quick
        else [
            (64, "small", defaults + variants, repeats),
            (32, "small", defaults, repeats),
            (64, "paper", defaults, 1),
            (32, "paper", defaults, 1),
        ]
    )
    rows = []
    for res, preset, modes, reps in cases:
        common = {"resolution": res, "preset": preset, "repeats": reps}
        rows.append(common | {"label": "baseline (pytorch/examples)", "kind": "baseline"})
        for label, precision, cl in modes:
            rows.append(
                common | {"label": label, "kind": "ours", "precision": precision, "channels_last": cl, "compile": False}
            )
        if compile_ and preset == "small":
            rows.append(
                common
                | {
                    "label": "ours fp32 compile",
                    "kind": "ours",
                    "precision": "fp32",
                    "channels_last": True,
                    "compile": True,
                }
            )
    return rows


def scaling_configurations(quick: bool) -> list[dict]:
    if quick:
        return []
    base = {
        "kind": "ours",
        "preset": "small",
        "precision": "fp32",
        "channels_last": True,
        "compile": False,
        "repeats": 1,
    }
    rows = [base | {"label": f"{r}px b128", "resolution": r, "batch": 128} for r in (32, 64, 128)]
    rows += [base | {"label": f"64px b{b}", "resolution": 64, "batch": b} for b in (32, 64, 256)]
    return rows


def machine() -> dict:
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [
            ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln
        ]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def interleave(rows: list[dict], common: dict) -> list[dict]:
    """Measure each row its ``repeats`` times, round-robin over the rows, and keep the medians."""
    samples: list[list[dict]] = [[] for _ in rows]
    for rep in range(max(row["repeats"] for row in rows)):
        for i, row in enumerate(rows):
            if rep >= row["repeats"]:
                continue
            result = run_worker(common | row)
            samples[i].append(result)
            print(
                f"  [{rep + 1}/{row['repeats']}] {row['resolution']}px {row['preset']:5s} b{(common | row)['batch']} "
                f"{row['label']:36s} {result['images_per_s']:8.1f} img/s",
                flush=True,
            )
    out = []
    for row, runs in zip(rows, samples, strict=True):
        merged = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        out.append(row | merged | {"images_per_s_all": [r["images_per_s"] for r in runs]})
    return out


def markdown(report: dict) -> str:
    peaks = report["peaks"]
    lines = [
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, torch {report['machine']['torch']}"
        f"; both pipelines train on {report['settings']['device']}"
        + (f" ({report['machine']['cuda']})." if report["settings"]["device"].startswith("cuda") else "."),
        "",
        "Peaks measured in this run (GFLOP/s): " + ", ".join(f"{k} {v / 1e9:.0f}" for k, v in peaks.items()),
        "",
        "| res | preset | pipeline | img/s (median) | x baseline | GFLOP/img | GFLOP/s | % fp32 conv peak | % bf16 conv peak "
        "| peak RSS MB (+ loader worker) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["training"]:
        gflops = row["flops_per_image"] * row["images_per_s"] / 1e9
        lines.append(
            f"| {row['resolution']} | {row['preset']} | {row['label']} | {row['images_per_s']:.1f} | "
            f"{row['ratio_to_baseline']:.2f} | {row['flops_per_image'] / 1e9:.2f} | {gflops:.0f} | "
            f"{100 * gflops * 1e9 / peaks['conv_fp32']:.0f}% | {100 * gflops * 1e9 / peaks['conv_bf16']:.0f}% | "
            f"{row['peak_rss_mb']:.0f} (+{row['peak_rss_worker_mb']:.0f})"
            + (f", GPU {row['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in row else "")
            + " |"
        )
    lines += [
        "",
        "Convolutions alone: every convolution of one step timed in isolation at its own shapes, channels_last,",
        "summed in the step's schedule (the step's limit on these kernels if nothing else cost anything).",
        "",
        "| res | preset | precision | convs alone img/s | GFLOP/img executed | GFLOP/s | % fp32 conv peak "
        "| whole step / convs alone |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["conv_limits"]:
        gflops = row["flops_per_image"] * row["images_per_s"] / 1e9
        lines.append(
            f"| {row['resolution']} | {row['preset']} | {row['precision']} | {row['images_per_s']:.1f} | "
            f"{row['flops_per_image'] / 1e9:.2f} | {gflops:.0f} | {100 * gflops * 1e9 / peaks['conv_fp32']:.0f}% | "
            f"{100 * row['step_fraction']:.0f}% |"
        )
    headline = report["conv_limits"][0]
    lines += [
        "",
        f"Per convolution, {headline['resolution']}px {headline['preset']} {headline['precision']} (GFLOP/s; "
        "calls per step in brackets):",
        "",
        "| layer | GFLOP per call | forward | grad input | grad weight |",
        "| --- | --- | --- | --- | --- |",
    ]
    for layer in headline["layers"]:
        cells = [
            f"{layer['flops'] / layer['seconds'][k] / 1e9:.0f} (x{layer['counts'][k]})"
            for k in ("forward", "grad_input", "grad_weight")
        ]
        lines.append(f"| {layer['layer']} | {layer['flops'] / 1e9:.2f} | " + " | ".join(cells) + " |")
    if report["scaling"]:
        lines += ["", "| scaling (ours fp32, small) | img/s | GFLOP/img | GFLOP/s |", "| --- | --- | --- | --- |"]
        for row in report["scaling"]:
            gflops = row["flops_per_image"] * row["images_per_s"] / 1e9
            lines.append(
                f"| {row['label']} | {row['images_per_s']:.1f} | {row['flops_per_image'] / 1e9:.2f} | {gflops:.0f} |"
            )
    lines += [
        "",
        f"Sampling (G small {report['sampling']['resolution']}px, eval mode, batch 256): "
        f"{report['sampling']['images_per_s']:.0f} img/s.",
    ]
    lines += [f"Start-up of `dcgan info` on a checkpoint (wall, median): {report['startup_s']:.2f} s."]
    return "\n".join(lines) + "\n"


def startup_seconds(repeats: int) -> float:
    """Wall time of a fresh ``dcgan info`` process on a freshly written checkpoint."""
    from dcgan import TrainConfig, train
    from dcgan.data import ImageData

    with tempfile.TemporaryDirectory() as tmp:
        images = torch.randint(0, 255, (64, 1, 16, 16), dtype=torch.uint8)
        config = TrainConfig(epochs=1, batch_size=32, g_width=8, d_width=8, progress=False, out=f"{tmp}/run")
        train(config, ImageData(images))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "dcgan", "info", f"{tmp}/run"], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (under a minute) that checks everything works")
    parser.add_argument("--repeats", type=int, help="measurements of the headline configurations (default 3; quick 1)")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (default 5; quick 2)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to start)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps: where both pipelines train")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "throughput"), help="output stem")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    from dcgan.core.device import pick_device
    from dcgan.errors import DCGANError

    try:
        device = pick_device(args.device)
    except DCGANError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gpu = device.type != "cpu"  # a GPU step takes milliseconds: time more of them
    repeats = args.repeats or (1 if args.quick else 3)
    steps = args.steps or (2 if args.quick else 50 if gpu else 5)
    batch = 32 if args.quick else 128
    warmup = 1 if args.quick else 5 if gpu else 2
    cache = Path(tempfile.gettempdir()) / "dcgan-bench"
    folder = image_folder(batch * (steps + warmup + 4), cache)
    common = {"folder": str(folder), "steps": steps, "warmup": warmup, "batch": batch, "device": str(device)}
    print(
        f"images: {folder} ({'real CIFAR-10' if CIFAR_ZIP.exists() else 'generated'}); {repeats} repeats x {steps} steps"
    )

    peak_cfg = {"kind": "peaks", "batch": batch, "matmul_size": 512 if args.quick else None, "device": str(device)}
    peaks_before = run_worker(peak_cfg)
    training = interleave(configurations(args.quick, args.compile, repeats, fp16=device.type == "cuda"), common)
    peaks_after = run_worker(peak_cfg)
    peaks = {k: max(peaks_before[k], peaks_after[k]) for k in peaks_before if k.startswith(("matmul_", "conv_"))}
    for row in training:
        base = next(
            r
            for r in training
            if r["kind"] == "baseline" and r["resolution"] == row["resolution"] and r["preset"] == row["preset"]
        )
        row["ratio_to_baseline"] = row["images_per_s"] / base["images_per_s"]
        row["conv_fp32_utilisation"] = row["flops_per_image"] * row["images_per_s"] / peaks["conv_fp32"]
    conv_limits = []
    for res, preset in sorted({(r["resolution"], r["preset"]) for r in training}, reverse=True):
        for precision in ("fp32", "bf16"):
            limit = run_worker(common | {"kind": "convs", "resolution": res, "preset": preset, "precision": precision})
            ours = next(
                r
                for r in training
                if (r["resolution"], r["preset"], r.get("precision"), r.get("channels_last"))
                == (res, preset, precision, True)
            )
            limit |= {"resolution": res, "preset": preset, "precision": precision}
            conv_limits.append(limit | {"step_fraction": ours["images_per_s"] / limit["images_per_s"]})
    scaling_rows = scaling_configurations(args.quick)
    scaling = interleave(scaling_rows, common) if scaling_rows else []
    sample_cfg = {"kind": "sample", "resolution": 64 if not args.quick else 32, "preset": "small", "batch": 256}
    sample_cfg["device"] = str(device)
    sampling = run_worker(sample_cfg) | {"resolution": sample_cfg["resolution"]}
    report = {
        "machine": machine(),
        "settings": {"repeats": repeats, "steps": steps, "warmup": warmup, "batch": batch, "quick": args.quick}
        | {"device": str(device)},
        "peaks": peaks,
        "training": training,
        "conv_limits": conv_limits,
        "scaling": scaling,
        "sampling": sampling,
        "startup_s": startup_seconds(1 if args.quick else 3),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
