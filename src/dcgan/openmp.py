"""How torch's OpenMP threads wait for work: chosen on import, before torch loads (the runtime reads it only then).

By default GNU OpenMP (the runtime of torch's Linux wheels) keeps each idle thread spinning for about
3 ms after every parallel region, in case more work comes. Alone on the machine that costs nothing;
beside another busy process it steals the cores that process needs, and both crawl: two trainings
side by side on 2 cores took 3.1x as long as one alone, where sharing should cost 2x (docs/benchmarks.md).
``PASSIVE`` makes idle threads sleep at once. A user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` wins:
``GOMP_SPINCOUNT=300000`` restores the spinning default, ``OMP_WAIT_POLICY=ACTIVE`` spins without end.
"""

from __future__ import annotations

import os

WAIT_POLICY = "PASSIVE"
USER_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def choose_wait_policy() -> bool:
    """Ask for sleeping idle threads unless the user chose how they wait (a no-op once torch has loaded);
    whether this chose (child processes inherit the choice)."""
    if any(name in os.environ for name in USER_SETTINGS):
        return False
    os.environ["OMP_WAIT_POLICY"] = WAIT_POLICY
    return True


CHOSEN_HERE = choose_wait_policy()
