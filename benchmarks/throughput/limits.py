"""What this machine allows, measured in the same run: peak FLOP rates, and every convolution of a step alone."""

from __future__ import annotations

import torch

from .measure import device_of, median_seconds, spec_of


def measure_peaks(cfg: dict) -> dict:
    """Machine limits in this run: a large matmul and a DCGAN-shaped convolution, fp32 and bf16."""

    device = device_of(cfg)

    def rate(fn, flops):
        return flops / median_seconds(fn, device)

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

    from dcgan import Discriminator, Generator

    dtype = torch.bfloat16 if cfg["precision"] == "bf16" else torch.float32
    device = device_of(cfg)
    spec = spec_of(cfg)
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
                "forward": median_seconds(forward, device),
                "grad_input": median_seconds(backward([True, False, False]), device),
                "grad_weight": median_seconds(backward([False, True, False]), device),
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
