"""Failures injected into training, and what must survive each (docs/reliability.md).

- kill -9 at random moments, many inside a checkpoint write: every time the checkpoint is
  readable, resume continues, and the run ends bit-for-bit as a run never killed;
- SIGTERM and SIGINT: the step finishes, a checkpoint is written, the message says how to resume;
- a full disk or an unwritable folder while saving: the previous checkpoint survives, one clear error;
- NaN in the losses: training stops with remedies, the last good checkpoint is kept.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from multiprocessing.connection import wait
from pathlib import Path

import pytest
import torch
from PIL import Image

import dcgan.core.tensorfile
import dcgan.training.loop
import dcgan.training.runs
import dcgan.training.state
from conftest import HANG, SRC, blobs, src_env, tiny_config
from dcgan import DCGANError, load_checkpoint, resume, train
from dcgan.core.folderlock import LOCK, holding
from dcgan.core.rundir import RunDir
from dcgan.training import Callback

KILLS = 24


class _KillPoint(Callback):
    """Reports the attempt's progress to the test, and stops it still at a chosen point of the run's own work.

    ``plan`` is (kind, k, n): after this attempt's k-th step, "step" holds still at the n-th layer call of
    the steps that follow, "write" at the n-th fsync or rename of the checkpoint writes that follow (each
    one: fsync the temporary file, rename it, fsync the folder; the same for its .json), and "timer" lets the test kill it at a random moment, held still at step k + 3 at
    the latest. Held still, the test sends SIGKILL: the kill lands there whatever the machine's load.
    """

    def __init__(self, conn, plan: tuple[str, int, int]) -> None:
        self.conn, (self.kind, self.k, self.n) = conn, plan
        self.steps = self.calls = 0

    def on_step(self, trainer) -> None:
        self.steps += 1
        if self.steps == self.k:
            self.conn.send("progress")  # the test's timer starts now, at the same point of the run on any machine
            if self.kind == "step":
                for net in (trainer.G, trainer.D):
                    for layer in net.modules():
                        layer.register_forward_pre_hook(lambda *_: self._count())
            elif self.kind == "write":
                dcgan.training.state.save_checkpoint = self._counting_inside(dcgan.training.state.save_checkpoint)
        elif self.kind == "timer" and self.steps == self.k + 3:
            self._hold()

    def _counting_inside(self, save):
        """``save``, with each fsync and rename it makes counted (the checkpoint, then its .json)."""
        fsync, replace = os.fsync, os.replace

        def counted(call):
            return lambda *args: (self._count(), call(*args))[1]

        def counting_save(*args, **kwargs):
            os.fsync, os.replace = counted(fsync), counted(replace)
            try:
                return save(*args, **kwargs)
            finally:
                os.fsync, os.replace = fsync, replace

        return counting_save

    def _count(self) -> None:
        self.calls += 1
        if self.calls == self.n:
            self._hold()

    def _hold(self) -> None:
        self.conn.send("held")
        while True:
            time.sleep(60)


def _train_or_resume(out: str, epochs: int, conn=None, plan=None) -> None:
    """One attempt of the killed run: start it, or resume it when it has a checkpoint (a restarted job)."""
    torch.set_num_threads(1)  # the same arithmetic in every attempt and in the straight run
    data = blobs(128)
    callbacks = [_KillPoint(conn, plan)] if plan else []  # no loss plot: it would fill each attempt
    if RunDir(out).last_checkpoint.exists():
        resume(out, data=data, callbacks=callbacks)
    else:  # save_every_minutes of 1e-6: a checkpoint after every step, so many kills land in a write
        config = tiny_config(Path(out).parent, out=out, epochs=epochs, save_every_minutes=1e-6, log_every=1)
        train(config, data, callbacks=callbacks)


def _attempt(context, out: str, epochs: int = 24, plan=None, delay: float = 0.0) -> int:
    """Run one attempt in a fresh process, SIGKILLed at the point ``plan`` chooses (or never). Its exit code."""
    ours, theirs = context.Pipe()
    process = context.Process(target=_train_or_resume, args=(out, epochs, theirs, plan))
    process.start()
    theirs.close()
    if plan is not None:
        assert wait([ours, process.sentinel], timeout=HANG) == [ours], "the attempt ended before its kill point"
        assert ours.recv() == "progress"
        if plan[0] != "timer" or not ours.poll(delay):  # a random moment after step k, unless held first
            assert ours.poll(HANG) and ours.recv() == "held"
        os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=HANG)
    return process.exitcode


def test_kill_9_at_random_moments_never_loses_a_checkpoint(tmp_path, monkeypatch):
    context = multiprocessing.get_context("forkserver")  # each attempt starts in milliseconds, all imported
    # the server imports this module and what an attempt needs (Adam's first use imports torch._dynamo: seconds);
    # Python 3.11's forkserver finds modules by PYTHONPATH only, not by the test's sys.path
    here = Path(__file__).parent
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(SRC), str(here), str(here.parent), os.environ.get("PYTHONPATH", "")])
    )
    context.set_forkserver_preload(["torch._dynamo", __name__])
    rng = random.Random(13)
    out = str(tmp_path / "killed" / "run")  # 24 epochs of 4 steps, a checkpoint after each step
    steps, in_writes, temporary_left = [], 0, 0
    for _ in range(KILLS):
        plan = (rng.choice(["step", "write", "timer"]), rng.randint(1, 2), rng.randint(1, 40))
        if plan[0] == "write":
            plan = (*plan[:2], rng.randint(1, 6))  # inside the next checkpoint write
            temporary_left += plan[2] % 3 != 0  # held before its fsync or its rename: the temporary file exists
        assert _attempt(context, out, plan=plan, delay=rng.uniform(0.0, 0.05)) == -signal.SIGKILL
        run = RunDir(out)
        in_writes += bool(list(run.checkpoints.glob(".*.tmp")))
        steps.append(load_checkpoint(run.root).meta["step"])  # readable, every time
    assert steps == sorted(steps) and steps[0] > 0 and steps[-1] < 96  # never lost, still running
    assert in_writes >= temporary_left >= KILLS // 6  # many kills landed inside a checkpoint write
    assert _attempt(context, out) == _attempt(context, str(tmp_path / "straight" / "run")) == 0
    killed, clean = load_checkpoint(out), load_checkpoint(tmp_path / "straight" / "run")
    assert killed.meta["step"] == clean.meta["step"] == 96
    assert all(torch.equal(killed.tensors[name], clean.tensors[name]) for name in clean.tensors)
    assert RunDir(out).read_metrics() == RunDir(tmp_path / "straight" / "run").read_metrics()
    assert not list(RunDir(out).checkpoints.glob(".*.tmp"))  # the partial writes were cleared on resume
    print(f"{KILLS} kills, {in_writes} inside a checkpoint write ({temporary_left} planned), checkpoint steps {steps}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_checkpoint_and_print_a_working_resume_command(tmp_path, sig):
    data = tmp_path / "data"
    data.mkdir()
    for i, image in enumerate(blobs(64).images):
        Image.fromarray(image[0].numpy()).save(data / f"{i}.png")
    env = src_env()
    tiny = (
        "--g-width 8 --d-width 8 --nz 8 --batch-size 16 --log-every 1 --no-progress --no-cache --save-every-minutes 0"
    )
    tiny += " --precision fp32"  # not auto: its timing probe adds start-up time that grows with the load
    argv = f"train --data {data} --resolution 16 --epochs 100000 --out run {tiny}".split()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcgan", *argv], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    printed = iter(proc.stdout.readline, b"")  # the data summary and overview, then the run folder, before any step
    assert any(line.decode().startswith("training in run") for line in printed)
    metrics = tmp_path / "run" / "metrics.jsonl"
    hung = time.monotonic() + HANG  # until a step is done, however long starting takes on a busy machine
    while not (metrics.exists() and metrics.stat().st_size) and proc.poll() is None and time.monotonic() < hung:
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=HANG)
    err = err.decode()
    assert proc.returncode == 130 and "Traceback" not in err
    stopped = int(re.search(r"stopped at step (\d+)", err).group(1))
    assert load_checkpoint(tmp_path / "run").meta["step"] == stopped > 0  # the finished steps are saved
    command = re.search(r"resume with: (.+)", err).group(1)
    assert command.endswith("train --resume run") and "-m dcgan" in command  # as it was started
    epochs = stopped // 4 + 1  # on to the end of an epoch not yet finished (a stop may land on an epoch's last step)
    resumed = subprocess.run(
        [*shlex.split(command), "--epochs", str(epochs), "--no-progress"], cwd=tmp_path, env=env, capture_output=True
    )
    assert resumed.returncode == 0, resumed.stderr  # the command works from where the user started
    assert load_checkpoint(tmp_path / "run").meta["step"] == 4 * epochs > stopped


# SIGTERM as start-up ends (data read, precision chosen, summary and run folder printed), before the loop's handler
TERMINATED_WHILE_STARTING = """
import os, signal, sys
import dcgan.training.loop
from dcgan.cli import main
dcgan.training.loop.Trainer._place_images = lambda self: os.kill(os.getpid(), signal.SIGTERM)
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_while_starting_exits_143_with_one_line_and_keeps_what_was_printed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for i, image in enumerate(blobs(32).images):
        Image.fromarray(image[0].numpy()).save(data / f"{i}.png")
    env = src_env()
    argv = f"train --data {data} --resolution 16 --out run --g-width 8 --d-width 8 --nz 8 --batch-size 16 --no-progress".split()
    with (tmp_path / "out.txt").open("w") as stdout:  # a file: Python buffers it, unlike a terminal
        ran = subprocess.run(
            [sys.executable, "-c", TERMINATED_WHILE_STARTING, *argv],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=HANG,
        )
    assert ran.returncode == 143 and ran.stderr == "dcgan train: stopped by SIGTERM\n"
    printed = (tmp_path / "out.txt").read_text()
    assert printed.startswith("data: 32 images, 16x16") and "training in run" in printed  # flushed, not lost
    assert "precision: auto: " in printed  # the probe ran to its end before the signal came
    assert not RunDir(tmp_path / "run").last_checkpoint.exists()


def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_full_disk_or_unwritable_folder_keeps_the_previous_checkpoint(tmp_path, monkeypatch, code):
    trainer = train(tiny_config(tmp_path, epochs=1), blobs(64))
    before = trainer.run.last_checkpoint.read_bytes()
    # a full disk fails the write; a read-only or unwritable folder fails creating the temporary file
    target = "fsync" if code == errno.ENOSPC else "fchmod"
    monkeypatch.setattr(dcgan.core.tensorfile.os, target, _fail_with(code))
    with pytest.raises(DCGANError) as caught:
        trainer.save()
    message = str(caught.value)
    assert os.strerror(code) in message and "previous file is unchanged" in message
    assert str(trainer.run.last_checkpoint) in message and "Traceback" not in message
    assert trainer.run.last_checkpoint.read_bytes() == before
    assert not list(trainer.run.checkpoints.glob(".*.tmp"))


def test_out_that_is_a_device_file_or_a_file_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(dcgan.training.runs, "load_training_data", lambda config: pytest.fail("data was read"))
    (tmp_path / "file").write_text("x")
    for out, message in (("/dev/full", "is a file, not a folder"), (str(tmp_path / "file"), "is a file")):
        with pytest.raises(DCGANError, match=message):
            train(tiny_config(tmp_path, out=out))
    monkeypatch.setattr(dcgan.core.tensorfile.tempfile, "NamedTemporaryFile", _fail_with(errno.EROFS))
    with pytest.raises(DCGANError, match=r"cannot write into .*Read-only file system"):
        train(tiny_config(tmp_path, out=str(tmp_path / "new")))
    assert Path("/dev/full").is_char_device()  # never replaced


def test_a_run_folder_being_trained_refuses_a_second_trainer_and_loses_nothing(tmp_path):
    """A second ``--resume`` of a run in training would drop its newest metrics and delete its half-written
    checkpoint: it stops before that, naming the process that trains there."""
    data = blobs(64)
    run = train(tiny_config(tmp_path, epochs=1), data).run
    # every file but the lock, which names its holder: the holding below (the first trainer's) rewrites it
    files = {path: path.read_bytes() for path in run.root.rglob("*") if path.is_file() and path.name != LOCK}
    with holding(run.root, "training"), pytest.raises(DCGANError) as caught:  # as the first trainer holds it
        resume(run.root, data, epochs=2)
    assert str(caught.value).startswith(f"{run.root} is in use: training by process {os.getpid()} on ")
    assert {path: path.read_bytes() for path in files} == files
    assert resume(run.root, data, epochs=2).step == 4  # free again: 2 steps an epoch


def test_nan_stops_with_remedies_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    data = blobs(128)  # 4 steps per epoch
    trainer = train(tiny_config(tmp_path, epochs=1, log_every=1), data)
    good = trainer.run.last_checkpoint.read_bytes()
    original = dcgan.training.loop.train_step
    calls = {"n": 0}

    def diverge_on_the_third(*args, **kwargs):
        calls["n"] += 1
        stats = original(*args, **kwargs)
        return stats * float("nan") if calls["n"] == 3 else stats

    monkeypatch.setattr(dcgan.training.loop, "train_step", diverge_on_the_third)
    with pytest.raises(DCGANError) as caught:
        resume(trainer.run_dir, data=data, epochs=2)
    message = str(caught.value)
    assert "diverged" in message and "at step 7" in message and "--lr" in message and "fp32" in message
    assert trainer.run.last_checkpoint.read_bytes() == good  # nothing diverged was saved
    assert max(row["step"] for row in trainer.run.read_metrics()) == 6  # the NaN rows never reach the log


def test_inf_weights_are_never_saved_over_the_last_good_checkpoint(tmp_path):
    trainer = train(tiny_config(tmp_path, epochs=1), blobs(64), callbacks=[])
    good = trainer.run.last_checkpoint.read_bytes()
    with torch.no_grad():
        next(trainer.D.parameters()).view(-1)[0] = float("inf")
    with pytest.raises(DCGANError, match=r"D's weights hold NaN or Inf at step 2.*last good checkpoint .* is kept"):
        trainer.save()
    assert trainer.run.last_checkpoint.read_bytes() == good
