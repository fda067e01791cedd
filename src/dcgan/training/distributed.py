"""Data-parallel training on PyTorch's own engine: ``torchrun --nproc-per-node N -m dcgan train ...``.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous variables; :func:`setup` joins
the process group from them (gloo on CPU, NCCL on CUDA) with a timeout, so a rank that dies
takes the others down with an error instead of a hang. Without those variables everything
here is the single-process no-op.

The data order stays the single process's: each step takes the next ``batch_size x world``
images of the epoch's seeded order (``Trainer.epoch_order``), and rank ``r`` takes the
``r``-th ``batch_size`` of them (:func:`rank_slice`). ``--batch-size`` is therefore the
per-replica batch: N ranks with batch B train like one process with batch N x B, exactly so
with ``--sync-bn`` (BatchNorm statistics over the global batch, :class:`GlobalBatchNorm2d`). z is drawn the same way:
every rank draws the global batch's z from the same generator and keeps its slice, so the
noise generator's state, like the weights, is identical on every rank and rank 0's
checkpoint holds the whole run's state.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import DCGANError

TIMEOUT_ENV = "DCGAN_DIST_TIMEOUT"  # seconds a collective may wait for a peer before the job fails
DEFAULT_TIMEOUT_S = 300


@dataclass(frozen=True)
class World:
    """This process's place in the job: rank ``rank`` of ``size`` (``local_rank`` on its node)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, samples, metrics and logs."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def env_world() -> World:
    """The world torchrun describes in the environment (a single process when it does not)."""
    try:
        return World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    except KeyError:
        return SINGLE
    except ValueError:
        raise DCGANError("RANK, WORLD_SIZE or LOCAL_RANK is not an integer", "launch with torchrun") from None


def restart_count() -> int:
    """How many times torchrun has restarted this job (``--max-restarts``); 0 outside torchrun."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") or 0)


def setup(device: torch.device) -> World:
    """Join the process group torchrun set up (once per process); returns this process's world."""
    world = env_world()
    if not world.distributed or dist.is_initialized():
        return world
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    timeout = timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)))
    # a job restarted by torchrun --max-restarts meets in the store of the attempts before it, where their
    # ranks' addresses are still listed: a prefix per attempt keeps a new rank from dialling a dead one
    store, _, _ = next(dist.rendezvous("env://", timeout=timeout))
    store = dist.PrefixStore(f"dcgan/attempt-{restart_count()}", store)
    dist.init_process_group(backend, store=store, rank=world.rank, world_size=world.size, timeout=timeout)
    atexit.register(_teardown)  # PyTorch asks for destroy_process_group before a process exits
    return world


def local_device(device: torch.device, world: World) -> torch.device:
    """One GPU per rank on a node: ``cuda`` means ``cuda:<local_rank>`` under torchrun."""
    if world.distributed and device.type == "cuda" and device.index is None:
        return torch.device("cuda", world.local_rank)
    return device


def rank_slice(batch: torch.Tensor, world: World) -> torch.Tensor:
    """This rank's part of a global batch (its rows ``rank x B`` to ``(rank + 1) x B``)."""
    per_rank = len(batch) // world.size
    return batch[world.rank * per_rank : (world.rank + 1) * per_rank]


def _summed(tensor: torch.Tensor) -> torch.Tensor:
    """A copy of ``tensor`` summed over all ranks (all-reduce)."""
    total = tensor.clone()
    dist.all_reduce(total)
    return total


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose gradient is the all-reduced gradient: every rank's loss reaches every rank's input."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        return _summed(tensor)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _summed(grad)


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics cover every rank's batch, on any device.

    torch's SyncBatchNorm runs on GPUs only; this one all-reduces each channel's sum, sum of
    squares and count (with autograd: the backward pass all-reduces their gradients), so
    N ranks normalise exactly as one process with the global batch would.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        xf = x.float()
        channels = x.shape[1]
        count = xf.new_tensor([x.numel() // channels])
        stats = torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), count])
        stats = _SumOverRanks.apply(stats)
        total = stats[-1]
        mean = stats[:channels] / total
        var = (stats[channels : 2 * channels] / total - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * total / (total - 1), self.momentum)
        shape = (1, channels, 1, 1)
        scale = torch.rsqrt(var + self.eps) * self.weight
        return ((xf - mean.view(shape)) * scale.view(shape) + self.bias.view(shape)).to(x.dtype)


def wrap(net: nn.Module, device: torch.device, world: World, sync_bn: bool) -> nn.Module:
    """``net`` for the step: DDP-wrapped (gradients averaged over ranks), with SyncBatchNorm if asked.

    The plain module stays what checkpoints and sampling use; it shares the wrapper's weights.
    """
    if not world.distributed:
        return net
    if sync_bn:
        for module in net.modules():
            if type(module) is nn.BatchNorm2d:
                module.__class__ = GlobalBatchNorm2d  # the same parameters, buffers and state_dict names
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids)


def lost_peer_reason(error: RuntimeError) -> str | None:
    """What a collective's ``error`` says if another rank is gone (torch's own distributed errors, or gloo's transport
    reporting a closed or reset connection as a plain RuntimeError), without gloo's source location and advice:
    ``Connection closed by peer ...``; None for any other error."""
    if not (isinstance(error, dist.DistError) or "gloo/transport" in str(error)):
        return None
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(error).strip().splitlines()[0])
    return text.split(". ")[0]


def any_rank(flag: bool, world: World) -> bool:
    """Whether ``flag`` is set on any rank (a collective: every rank must call it at the same step)."""
    if not world.distributed:
        return flag
    backend_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([int(flag)], device=backend_device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def sum_over_ranks(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """The sum of ``tensor`` over all ranks, on every rank (a collective; no autograd; itself outside torchrun)."""
    return _summed(tensor) if world.distributed else tensor


def broadcast(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """Rank 0's ``tensor`` on every rank (the fixed noise: all ranks must agree on it)."""
    if world.distributed:
        backend_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        moved = tensor.to(backend_device)
        dist.broadcast(moved, 0)
        return moved.to(tensor.device)
    return tensor


def _teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def exit_now(code: int) -> None:
    """Under torchrun, end this process at once with ``code``, skipping Python's shutdown; elsewhere return.

    A gloo worker thread may still be releasing the tensors of the process's last collective when Python
    shuts down; it then waits for the interpreter lock, which only a dying interpreter hands out, and the
    process aborts (SIGABRT, "terminate called without an active exception") after a good run: about 1 run
    in 15 of a 2-rank test, once in CI. Destroying the process group would stop those threads first, but
    a DDP wrapper leaves the group referenced after both are gone, and a barrier holds the work it waited
    for. The command has written and closed every file by now; only the console streams need a flush.
    """
    if dist.is_initialized():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
