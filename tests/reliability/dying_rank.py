"""``dcgan train`` in which one rank kills itself (SIGKILL) before step ``DIE_BEFORE_STEP``, on the job's first
attempt only: a worker lost in the middle of a run, at a point of the run's own progress, whatever the load.

    RANK_TO_KILL=1 DIE_BEFORE_STEP=5 torchrun ... tests/reliability/dying_rank.py train ...
"""

import os
import signal
import sys

import dcgan.training.loop
from dcgan.cli import main

if os.environ.get("RANK") == os.environ["RANK_TO_KILL"] and os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0":
    step = dcgan.training.loop.Trainer.train_batch

    def dying(trainer, *args):
        if trainer.step + 1 == int(os.environ["DIE_BEFORE_STEP"]):
            os.kill(os.getpid(), signal.SIGKILL)
        step(trainer, *args)

    dcgan.training.loop.Trainer.train_batch = dying
sys.exit(main(sys.argv[1:]))
