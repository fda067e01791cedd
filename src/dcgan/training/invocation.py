"""How the user started this program, so a printed command (the resume hint) works where they typed it.

After ``bash scripts/train.sh`` the ``dcgan`` script is ``.venv/bin/dcgan``, not on PATH;
``python -m dcgan`` and ``torchrun ... -m dcgan`` are other ways in. The hint repeats the one
that was used.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def program() -> str:
    """The command that runs dcgan the way this process was started: ``dcgan``, ``.venv/bin/dcgan``, ``python -m dcgan``..."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("dcgan")
    if "LOCAL_RANK" in os.environ and "TORCHELASTIC_RUN_ID" in os.environ:
        nproc = os.environ.get("LOCAL_WORLD_SIZE", "1")
        return f"torchrun --nproc-per-node {nproc} -m dcgan"
    if argv0.name == "__main__.py":
        python = Path(sys.executable)
        on_path = shutil.which(python.name)
        shown = python.name if on_path and Path(on_path).resolve() == python.resolve() else _relative(python)
        return f"{shown} -m dcgan"
    if argv0.name == "dcgan":
        on_path = shutil.which("dcgan")
        return "dcgan" if on_path and Path(on_path).resolve() == argv0.resolve() else _relative(argv0)
    return "dcgan"  # the Python API: the installed command is the usual way back in


def _relative(path: Path) -> str:
    """``path`` as typed from the current folder when it lies below it, else absolute."""
    path = path.absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def resume_command(run_dir: Path) -> str:
    return f"{program()} train --resume {run_dir}"
