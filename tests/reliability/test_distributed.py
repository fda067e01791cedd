"""Data-parallel training under torchrun: 2 CPU processes (gloo) with --sync-bn and 2 x 8 images per step
learn the same weights as 1 process with batch 16, and so do two torchrun agents of one process each (two nodes on
one machine); only rank 0 writes, and one process resumes the run to the weights of one process continuing from its
checkpoint. A rank killed mid-run: torchrun --max-restarts restarts the job, which resumes from the last checkpoint;
without restarts the other rank exits on its own, with one line. bf16 and --compile run under DDP, and so does
dcgan reproduce, to the page one process writes.

Every wait ends on what it waits for; timeouts are only guards against a hang (conftest.HANG)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image

from conftest import HANG, SHARED_DATA, blobs, shared_data, src_env
from dcgan import Discriminator, Generator, load_checkpoint
from dcgan.cli import main
from dcgan.core.checkpoints import Checkpoint
from dcgan.core.rundir import RunDir
from dcgan.training import TrainConfig, Trainer, load_training_data

TINY = [
    "--g-width",
    "8",
    "--d-width",
    "8",
    "--nz",
    "8",
    "--sample-count",
    "4",
    "--no-progress",
    "--no-cache",
    "--precision",
    "fp32",
]
TOLERANCE = 1e-5  # float sums in another order (per-rank sums, then over ranks); measured: at most 2e-7
BF16_TOLERANCE = 5e-3  # bf16 rounds each rank's half batch differently from the whole; measured: 5.5e-4


def write_blobs(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(blobs(n, resolution=16).images):
        Image.fromarray(image[0].numpy()).save(folder / f"{i:03d}.png")
    return folder


def environment(**extra: str) -> dict[str, str]:
    env = src_env()
    return env | {"OMP_NUM_THREADS": "1", "DCGAN_DIST_TIMEOUT": "60"} | extra


def torchrun(
    nproc: int, args: list[str], launch: list[str] = ("--standalone",), program=("-m", "dcgan"), **env: str
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", *launch, f"--nproc-per-node={nproc}", *program]
    return subprocess.run(
        [*command, *args], env=environment(**env), capture_output=True, text=True, timeout=HANG, check=False
    )


def one_process(data: Path, out: Path, *extra: str) -> Path:
    """The reference: 1 process with the global batch of 16 that 2 ranks x 8 with --sync-bn equal."""
    torch.set_num_threads(1)
    common = ["train", "--data", str(data), "--resolution", "16", *TINY, "--batch-size", "16", "--out", str(out)]
    assert main([*common, *extra]) == 0
    return out


def assert_same_weights(ddp: Path, one: Path, tolerance: float = TOLERANCE) -> None:
    a, b = load_checkpoint(ddp), load_checkpoint(one)
    assert a.meta["step"] == b.meta["step"] and a.meta["world_size"] == 2
    weights = [name for name in b.tensors if name.startswith(("G.", "D."))]
    worst = max((a.tensors[n].float() - b.tensors[n].float()).abs().max().item() for n in weights)
    print(f"largest weight difference, 2 ranks x 8 vs 1 x 16: {worst:.1e}")
    assert worst < tolerance


def continued_in_one_process(checkpoint: Checkpoint, steps: int, folder: Path) -> Trainer:
    """What one process makes of an epoch's end checkpoint: its run's config and data, the checkpoint's weights,
    Adam moments and z stream set by hand, then ``steps`` batches of --batch-size in the next epoch's order."""
    config = TrainConfig.from_dict(checkpoint.meta["config"])
    data = load_training_data(config)
    trainer = Trainer(config, data, folder, callbacks=[])
    for name in ("G", "D"):
        checkpoint.load_model(name, getattr(trainer, name))
        checkpoint.load_optimizer(f"opt_{name.lower()}", getattr(trainer, f"opt_{name.lower()}"))
    trainer.noise_rng.set_state(checkpoint.tensors["rng.noise"])
    order, batch = trainer.epoch_order(checkpoint.meta["epoch"]), config.batch_size
    for first in range(0, steps * batch, batch):
        trainer.train_batch(data.images, order[first : first + batch])
    return trainer


def test_two_ranks_with_sync_bn_equal_one_process_with_the_global_batch(tmp_path):
    data = write_blobs(tmp_path / "data", 48)  # 3 steps of 16
    common = ["train", "--data", str(data), "--resolution", "16", "--epochs", "1", *TINY]
    ran = torchrun(2, [*common, "--batch-size", "8", "--sync-bn", "--out", str(tmp_path / "ddp")])
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.count("training in") == 1  # rank 0 alone speaks and writes
    assert_same_weights(tmp_path / "ddp", one_process(data, tmp_path / "one", "--epochs", "1"))
    ddp, one = load_checkpoint(tmp_path / "ddp"), load_checkpoint(tmp_path / "one")
    assert ddp.meta["step"] == 3 and torch.equal(ddp.tensors["fixed_noise"], one.tensors["fixed_noise"])
    weights = [name for name in one.tensors if name.startswith(("G.", "D."))]
    torch.manual_seed(0)  # the initial weights, as the trainer draws them: training moved them far beyond the tolerance
    initial = {f"G.{k}": v for k, v in Generator(one.spec).state_dict().items()}
    initial |= {f"D.{k}": v for k, v in Discriminator(one.spec).state_dict().items()}
    assert max((one.tensors[n].float() - initial[n].float()).abs().max().item() for n in weights) > 30 * TOLERANCE
    # the two-process run goes on in one process (another world size): one more epoch, 48 / 8 = 6 steps of 8
    assert main(["train", "--resume", str(tmp_path / "ddp"), "--epochs", "2", "--no-progress"]) == 0
    resumed = load_checkpoint(tmp_path / "ddp")
    assert (resumed.meta["world_size"], resumed.meta["epoch"], resumed.meta["step"]) == (1, 2, 3 + 6)
    # with the weights, Adam moments and z stream one process continuing from epoch 1's checkpoint has
    reference = continued_in_one_process(ddp, 6, tmp_path / "reference")
    expected = {f"G.{k}": v for k, v in reference.G.state_dict().items()}
    expected |= {f"D.{k}": v for k, v in reference.D.state_dict().items()}
    assert [name for name in weights if not torch.equal(resumed.tensors[name], expected[name])] == []
    assert torch.equal(resumed.tensors["rng.noise"], reference.noise_rng.get_state())
    assert max((resumed.tensors[n].float() - ddp.tensors[n].float()).abs().max().item() for n in weights) > 1e-4


def test_two_ranks_augment_their_rows_and_agree_on_ada_p_as_one_process_with_the_global_batch(tmp_path):
    """--augment ada: every rank augments its rows of the global batch, and p moves on r_t summed over the ranks;
    --ema: every rank keeps the same average."""
    data = write_blobs(tmp_path / "data", 96)  # 6 steps of 16; p moves after step 4
    augment = [
        "--ema",  # an averaged G beside, its BatchNorm recalibrated by each rank alone under --sync-bn
        "0.05",
        "--augment",
        "ada",
        "--ada-kimg",
        "0.128",
        "--ada-target",
        "0.05",
        "--augment-policy",
        "color,translation,cutout,flip",
    ]
    common = ["train", "--data", str(data), "--resolution", "16", "--epochs", "1", "--log-every", "1", *augment, *TINY]
    ran = torchrun(2, [*common, "--batch-size", "8", "--sync-bn", "--out", str(tmp_path / "ddp")])
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert_same_weights(
        tmp_path / "ddp", one_process(data, tmp_path / "one", "--epochs", "1", "--log-every", "1", *augment)
    )
    ddp, one = load_checkpoint(tmp_path / "ddp"), load_checkpoint(tmp_path / "one")
    for name in (n for n in one.tensors if n.startswith("G_ema.")):
        torch.testing.assert_close(ddp.tensors[name], one.tensors[name], rtol=0, atol=TOLERANCE)
    for name in ("rng.augment", "augment.p"):
        assert torch.equal(ddp.tensors[name], one.tensors[name]), name
    # r_t's accumulator since the last move of p (steps 5 and 6): the mean over all ranks' images, in rank 0's checkpoint
    torch.testing.assert_close(ddp.tensors["augment.signs"], one.tensors["augment.signs"])
    p = [
        [json.loads(row)["augment_p"] for row in (run / "metrics.jsonl").read_text().splitlines()]
        for run in (tmp_path / "ddp", tmp_path / "one")
    ]
    assert p[0] == p[1] and p[0][3] != 0  # one p for all ranks, moved at step 4


DYING = str(Path(__file__).with_name("dying_rank.py"))


def test_max_restarts_restarts_a_job_that_lost_a_rank_and_it_resumes_from_the_last_checkpoint(tmp_path):
    data = write_blobs(tmp_path / "data", 48)  # 3 steps of 2 x 8 an epoch; a checkpoint after every step
    args = ["train", "--data", str(data), "--resolution", "16", "--epochs", "2", *TINY, "--batch-size", "8"]
    args += ["--sync-bn", "--save-every-minutes", "1e-6", "--log-every", "1", "--out", str(tmp_path / "ddp")]
    ran = torchrun(2, args, ["--standalone", "--max-restarts=1"], [DYING], RANK_TO_KILL="1", DIE_BEFORE_STEP="5")
    assert ran.returncode == 0, ran.stdout + ran.stderr[:6000]
    assert ran.stdout.count("training in") == 2 and "resuming at step" in ran.stdout  # the restart resumed
    steps = [row["step"] for row in RunDir(tmp_path / "ddp").read_metrics()]
    assert steps == [1, 2, 3, 4, 5, 6]  # nothing lost, nothing twice
    assert_same_weights(tmp_path / "ddp", one_process(data, tmp_path / "one", "--epochs", "2"))


def test_a_killed_rank_makes_the_other_exit_on_its_own_and_the_checkpoint_survives(tmp_path):
    data = write_blobs(tmp_path / "data", 48)
    args = ["train", "--data", str(data), "--resolution", "16", "--epochs", "2", *TINY, "--batch-size", "8"]
    args += ["--save-every-minutes", "1e-6", "--out", str(tmp_path / "ddp")]
    # the ranks without torchrun's agent, which would stop the survivor itself: rank 0 must notice the loss alone
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    group = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": "2", "RANK_TO_KILL": "1"}
    group |= {"DIE_BEFORE_STEP": "3", "DCGAN_DIST_TIMEOUT": "30"}
    ranks = [
        subprocess.Popen(
            [sys.executable, DYING, *args],
            env=environment(**group, RANK=str(rank), LOCAL_RANK=str(rank)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [rank.communicate(timeout=HANG) for rank in ranks]  # a hang fails here
    assert ranks[1].returncode == -signal.SIGKILL
    stderr = outputs[0][1]
    print(f"rank 0 after losing rank 1: exit {ranks[0].returncode}:", *stderr.strip().splitlines()[-2:], sep="\n")
    assert ranks[0].returncode == 2 and "Traceback" not in stderr, stderr[-3000:]  # one line, no traceback
    assert "dcgan train: error: rank 0 lost another process of the job at step 3" in stderr
    assert "--resume" in stderr.strip().splitlines()[-1]
    assert load_checkpoint(tmp_path / "ddp").meta["step"] == 2  # the last save before the loss, intact


def test_two_torchrun_agents_of_one_process_each_equal_one_node_with_two(tmp_path):
    data = write_blobs(tmp_path / "data", 48)
    args = ["train", "--data", str(data), "--resolution", "16", "--epochs", "1", *TINY, "--batch-size", "8"]
    args += ["--sync-bn", "--out", str(tmp_path / "ddp")]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch = ["--nnodes=2", "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=two-nodes"]
    command = [sys.executable, "-m", "torch.distributed.run", *launch, "--nproc-per-node=1", "-m", "dcgan", *args]
    nodes = [
        subprocess.Popen(command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=HANG) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], [err[-2000:] for _, err in outputs]
    assert sum(out.count("training in") for out, _ in outputs) == 1  # global rank 0 alone writes
    assert_same_weights(tmp_path / "ddp", one_process(data, tmp_path / "one", "--epochs", "1"))


def test_bf16_and_compile_run_under_ddp(tmp_path):
    data = write_blobs(tmp_path / "data", 48)
    args = ["train", "--data", str(data), "--resolution", "16", "--epochs", "1", *TINY, "--batch-size", "8"]
    ran = torchrun(2, [*args, "--sync-bn", "--precision", "bf16", "--compile", "--out", str(tmp_path / "ddp")])
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "precision: bf16 (as asked)" in ran.stdout
    one = one_process(data, tmp_path / "one", "--epochs", "1", "--precision", "bf16", "--compile")
    assert_same_weights(tmp_path / "ddp", one, tolerance=BF16_TOLERANCE)


def outline(summary: dict) -> list[tuple]:
    """What a results page shows but its compute: each stage, whether done, its figures (their captions without
    the step count), tables, results and notes."""
    return [
        (
            stage["stage"],
            stage["done"],
            [(f["file"], re.sub(r"\d[\d,]* steps, ", "", f["caption"]), f["paper"]) for f in stage["figures"]],
            [(table["title"], table["columns"]) for table in stage["tables"]],
            [(result["what"], result["paper"], result["target"]) for result in stage["results"]],
            stage["notes"],
        )
        for stage in summary["stages"]
    ]


def test_reproduce_under_torchrun_writes_the_page_one_process_writes(tmp_path):
    """A recipe at --scale test with 2 processes: every stage done, and the page of one process, but for the steps:
    2 processes of the recipe's batch take half as many to see the same images. 25 CPU-seconds."""
    shared_data("mnist")
    recipe = ["reproduce", "mnist", "--scale", "test", "--data-root", str(SHARED_DATA), "--no-progress"]
    ran = torchrun(2, [*recipe, "--out", str(tmp_path / "ddp")])
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.count("training in") == ran.stdout.count("(2 processes)") == 2  # both trainings, rank 0 speaks
    torch.set_num_threads(1)
    assert main([*recipe, "--out", str(tmp_path / "one")]) == 0
    ddp, one = (json.loads((tmp_path / run / "results.json").read_text()) for run in ("ddp", "one"))
    assert ddp["complete"] and outline(ddp) == outline(one)
    assert load_checkpoint(tmp_path / "ddp" / "02-train" / "run").meta["world_size"] == 2
    trained = [
        (a["compute"], b["compute"])
        for a, b in zip(ddp["stages"], one["stages"], strict=True)
        if "steps" in b["compute"]
    ]
    assert len(trained) == 2 and all(
        (a["steps"] * 2, a["batch"], a["images seen"]) == (b["steps"], b["batch"] * 2, b["images seen"])
        for a, b in trained
    )
    headings = [
        re.findall(r"<h[1-3]>(.*?)</h", (tmp_path / run / "results.html").read_text().replace(str(tmp_path / run), ""))
        for run in ("ddp", "one")
    ]
    assert headings[0] == headings[1] and len(headings[0]) > 5
