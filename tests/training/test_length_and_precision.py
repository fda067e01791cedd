"""A run's length by steps, kimg or epochs, said up front; --precision auto picks what a measured probe shows faster."""

import pytest
import torch

from conftest import blobs, tiny_config
from dcgan import DCGANError, TrainConfig
from dcgan.core.checkpoints import load_checkpoint
from dcgan.training import autoprecision, reopen, start, train
from dcgan.training.autoprecision import PROBE_STEPS, choose_precision, probe_batch
from dcgan.training.length import describe_length, short_run_hint


def test_total_steps_from_steps_kimg_or_epochs():
    assert TrainConfig(steps=500).total_steps(33) == 500
    assert TrainConfig(kimg=64).total_steps(33) == 500  # 64,000 images / 128 per step
    assert TrainConfig(kimg=1).total_steps(33) == 8  # 1,000 images: 7.8 batches, rounded up to whole ones
    assert TrainConfig(epochs=8).total_steps(33) == 264  # the small folder: 8 epochs of 33 steps
    with pytest.raises(DCGANError, match="both set the run's length"):
        TrainConfig(steps=10, kimg=1)
    with pytest.raises(DCGANError, match="--kimg must be above 0"):
        TrainConfig(kimg=0)


def test_length_is_described_and_short_runs_get_a_hint():
    assert (
        describe_length(528, 33, 128) == "training 528 steps = 16 epochs of 33 steps = 67,584 images seen (batch 128)"
    )
    assert describe_length(50, 33, 128).startswith("training 50 steps = 1.5 epochs")
    hint = short_run_hint(264, 33, 128)
    assert "264 steps is far shorter" in hint and "--steps 2000" in hint and "--kimg 256" in hint
    assert "--epochs 61" in hint  # 2000 steps / 33 per epoch, rounded up
    assert short_run_hint(1000, 33, 128) is None and short_run_hint(5000, 33, 128) is None


def test_steps_stop_mid_epoch_with_a_checkpoint_there(tmp_path):
    data = blobs(128)  # 4 steps per epoch of 32
    trainer = train(tiny_config(tmp_path, steps=6), data)
    assert (trainer.step, trainer.epoch, trainer.batch_in_epoch) == (6, 1, 2)
    meta = load_checkpoint(tmp_path / "run").meta
    assert (meta["step"], meta["epoch"], meta["batch_in_epoch"]) == (6, 1, 2)
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 6
    kimg = start(tiny_config(tmp_path, kimg=0.2, out=str(tmp_path / "k")), data)
    assert kimg.total_steps == 7  # 200 images / 32 per step, rounded up
    assert kimg.overview()[0] == "training 7 steps = 1.8 epochs of 4 steps = 224 images seen (batch 32)"


def timings(fp32: float, bf16: float, calls: list | None = None):
    def time_step(precision):
        if calls is not None:
            calls.append(precision)
        return {"fp32": fp32, "bf16": bf16}[precision]

    return time_step


def native():
    return True, "native bf16"


def test_auto_precision_takes_bf16_only_where_the_probe_shows_it_faster():
    cpu = torch.device("cpu")
    choice, why = choose_precision(cpu, timings(fp32=0.10, bf16=0.11), native)
    assert choice == "fp32" and "100 ms in fp32 and 110 ms in bf16" in why and "0.91x" in why
    choice, why = choose_precision(cpu, timings(fp32=0.15, bf16=0.10), native)
    assert choice == "bf16" and "1.50x" in why

    def no_bf16(precision):
        if precision == "bf16":
            raise RuntimeError("no bf16 kernel\nmore detail")
        return 0.1

    assert choose_precision(cpu, no_bf16, native) == ("fp32", "auto: fp32 (bf16 does not run here: no bf16 kernel)")
    assert choose_precision(torch.device("cuda"), timings(1, 0.1), native)[0] == "fp32"


def test_the_probe_times_no_bf16_on_a_cpu_without_bf16_units():
    calls = []
    lacking = (False, "this CPU has no bf16 units")
    choice, why = choose_precision(torch.device("cpu"), timings(0.1, 0.01, calls), lambda: lacking)
    assert (choice, calls) == ("fp32", []) and "no bf16 units; bf16 was not timed" in why


def test_the_probe_stops_as_soon_as_bf16_is_clearly_losing():
    calls = []
    choice, _ = choose_precision(torch.device("cpu"), timings(0.1, 2.5, calls), native)
    assert choice == "fp32" and calls == ["fp32", "bf16", "fp32", "bf16"]  # warm-ups, then one timed pair
    calls.clear()
    choose_precision(torch.device("cpu"), timings(0.1, 0.05, calls), native)
    assert calls.count("bf16") == 1 + PROBE_STEPS  # a winning bf16 gets every timed step


def test_native_bf16_asks_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(autoprecision, "cpu_field", lambda field: "fpu sse2 avx avx2 fma")  # an AVX2-only CPU
    assert autoprecision.native_bf16()[0] is False  # whatever oneDNN says, the flags show no bf16 arithmetic


def test_probe_steps_cost_a_small_batch():
    assert probe_batch(32, 128) == 32 and probe_batch(64, 128) == 8 and probe_batch(256, 128) == 2
    assert probe_batch(16, 20) == 20  # never more than the run's own batch


def test_a_run_with_auto_precision_trains_in_what_the_probe_chose_and_a_resume_reuses_it(tmp_path, monkeypatch):
    asked = []

    def stub(G, D, config, device, memory_format):
        asked.append(config.batch_size)
        return timings(fp32=0.010, bf16=0.020)  # bf16 slower here, as on a busy CPU without AMX

    monkeypatch.setattr(autoprecision, "step_timer", stub)
    monkeypatch.setattr(autoprecision, "native_bf16", native)
    monkeypatch.setattr(autoprecision, "choose_precision", lambda device, t: choose_precision(device, t, native))
    trainer = start(tiny_config(tmp_path, precision="auto", steps=3), blobs(64))
    assert asked == [32] and trainer.precision_name == "fp32" and not trainer.precision.enabled
    assert trainer.overview()[-1].startswith("precision: auto: fp32 (a probe step measured 10 ms in fp32 and 20 ms")
    trainer.fit()
    resumed = reopen(tmp_path / "run", data=blobs(64), steps=5)
    assert asked == [32] and resumed.precision_name == "fp32"  # the same machine: no second probe
    assert resumed.overview()[-1].endswith("[measured before this resume]")
    monkeypatch.setattr(autoprecision, "machine_key", lambda device: "another machine")
    reopen(tmp_path / "run", data=blobs(64), steps=5)
    assert asked == [32, 32]  # another machine probes again
