"""``dcgan serve`` as a user starts it: a process that prints its address and answers there until stopped."""

import json
import signal
import subprocess
import sys
import urllib.request

from conftest import HANG, blobs, src_env, tiny_config
from dcgan import train


def test_serve_prints_its_address_and_answers_there(tmp_path):
    train(tiny_config(tmp_path, epochs=1), blobs(64))
    env = src_env()
    command = [sys.executable, "-m", "dcgan", "serve", "--checkpoint", str(tmp_path / "run"), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("dcgan explorer on http://127.0.0.1:"), process.stderr.read()
        url = line.split()[3]
        with urllib.request.urlopen(url + "api/info", timeout=HANG) as response:
            info = json.load(response)
        assert [c["name"] for c in info["checkpoints"]] == ["run/last"]
        with urllib.request.urlopen(url, timeout=HANG) as response:
            assert b"dcgan explorer" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(HANG) == 130  # Ctrl-C, as for every dcgan command
