"""``import dcgan`` chooses how OpenMP threads wait before torch loads, unless the user chose."""

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SHOW_POLICY = "import os, dcgan; print(os.environ.get('OMP_WAIT_POLICY'))"


def python(args: list[str], **env_changes: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | env_changes
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=True, timeout=120)


def test_idle_threads_sleep_and_the_choice_comes_before_torch_loads():
    assert python(["-c", SHOW_POLICY]).stdout.strip() == "PASSIVE"
    # -X importtime lists each module when its import ends, nested ones first
    ended = [
        line.split("|")[-1].strip() for line in python(["-X", "importtime", "-c", "import dcgan"]).stderr.splitlines()
    ]
    first_torch = next(i for i, name in enumerate(ended) if name.split(".")[0] == "torch")
    assert ended.index("dcgan.openmp") < first_torch


def test_a_users_own_setting_wins():
    assert python(["-c", SHOW_POLICY], OMP_WAIT_POLICY="ACTIVE").stdout.strip() == "ACTIVE"
    assert python(["-c", SHOW_POLICY], GOMP_SPINCOUNT="300000").stdout.strip() == "None"
