"""How a run stops before its end: Ctrl-C and SIGTERM (a request, honoured after the step under way), and
under torchrun a lost process (one line naming the rank and the resume command, not gloo's traceback)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.signals import handling
from ..errors import DCGANError
from . import distributed
from .invocation import resume_command


class StopRequest:
    """The first Ctrl-C or SIGTERM (what schedulers and torchrun send) asks the loop to finish the step, checkpoint
    and stop; a second one stops at once (the last checkpoint stays intact). Under torchrun, ranks stop together,
    after the same step: the loop shares requests (:meth:`share`) at each logging step."""

    def __init__(self, world: distributed.World) -> None:
        self.world = world
        self.asked = False  # by a signal to this process
        self.agreed = False  # under torchrun: asked of some rank, and every rank knows

    @property
    def due(self) -> bool:
        return self.agreed if self.world.distributed else self.asked

    def share(self) -> None:
        if self.world.distributed:
            self.agreed = distributed.any_rank(self.asked, self.world)

    @contextmanager
    def handled(self) -> Iterator[None]:
        """The signals handled as requests while the loop runs (the handlers before are restored after)."""

        def request(signum, frame):
            if self.asked:
                raise KeyboardInterrupt
            self.asked = True

        with handling((signal.SIGINT, signal.SIGTERM), request):
            yield


@contextmanager
def peers_watched(world: distributed.World, step: Callable[[], int], run_dir: Path) -> Iterator[None]:
    """Under torchrun, a rank that died surfaces as the next collective's error: said in one line, with the step
    (``step()``: the last finished one) and how to resume the run in ``run_dir``."""
    try:
        yield
    except RuntimeError as exc:
        reason = distributed.lost_peer_reason(exc) if world.distributed else None
        if reason is None:
            raise
        raise DCGANError(
            f"rank {world.rank} lost another process of the job at step {step() + 1} ({reason})",
            f"the last checkpoint is intact: once every rank can run, resume with {resume_command(run_dir)}",
        ) from None
