"""One writer per folder (core/folderlock.py): a second writer stops with the first one's process and host, and a
holder that dies in any way, kill -9 included, leaves the folder free."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import HANG, src_env
from dcgan import DCGANError
from dcgan.core.folderlock import LOCK, holding

HOLD = "import sys, time; from dcgan.core.folderlock import holding\nwith holding(sys.argv[1], 'training'): time.sleep(600)"


def test_a_held_folder_refuses_a_second_writer_and_names_the_first(tmp_path):
    folder = tmp_path / "run"  # made when missing
    with holding(folder, "training"):
        with pytest.raises(DCGANError) as caught, holding(folder, "dcgan reproduce faces"):
            pytest.fail("a second writer got in")
        assert str(caught.value).startswith(
            f"{folder} is in use: training by process {os.getpid()} on {socket.gethostname()} since "
        )
        assert "wait for that process to end, or stop it" in str(caught.value)
    with holding(folder, "dcgan reproduce faces"):  # released at the end of the block
        assert json.loads((folder / LOCK).read_text())["doing"] == "dcgan reproduce faces"


def test_a_holder_killed_with_sigkill_leaves_the_folder_free(tmp_path):
    folder = tmp_path / "run"
    env = src_env()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], env=env)
    try:
        hung = time.monotonic() + HANG  # until it holds the folder, however slowly Python starts here
        while f'"pid": {holder.pid}' not in _read(folder / LOCK) and time.monotonic() < hung:
            time.sleep(0.05)
        with pytest.raises(DCGANError, match=f"in use: training by process {holder.pid} "), holding(folder, "x"):
            pytest.fail("a second writer got in")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=HANG)
    with holding(folder, "training"):  # no lock file to remove by hand
        pass


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
