"""The one tensor-file container: safetensors plus JSON metadata, written atomically; any bad file is one error."""

import errno
import shutil

import pytest
import torch
from safetensors.torch import save_file

from dcgan import DCGANError
from dcgan.core.rundir import RunDir
from dcgan.core.tensorfile import atomic_write, load_tensors, save_tensors, write_error

PROBLEM, FIX = "is not a test file", "write it with save_tensors"


def test_round_trip_keeps_tensors_and_metadata_and_shares_the_file(tmp_path):
    tensors = {
        "weight": torch.randn(3, 4),
        "transposed": torch.randn(4, 3).t(),  # not contiguous: saved as a contiguous copy
        "steps": torch.arange(5),
        "mask": torch.tensor([True, False, True]),
        "half": torch.randn(2, dtype=torch.bfloat16),
    }
    meta = {"format": "test", "epoch": 3, "nested": {"names": ["a", "b"], "ratio": 0.5}, "nothing": None}
    path = save_tensors(tmp_path / "sub" / "f.safetensors", tensors, meta)
    assert path == tmp_path / "sub" / "f.safetensors"
    assert path.stat().st_mode & 0o777 == 0o644  # shared like any other output, not mkstemp's 0600
    assert [p.name for p in path.parent.iterdir()] == ["f.safetensors"]  # no temporary file left beside it
    loaded, loaded_meta = load_tensors(path, PROBLEM, FIX, fmt="test")
    assert loaded_meta == meta and sorted(loaded) == sorted(tensors)
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor), name


def test_names_reads_only_those_tensors(tmp_path):
    tensors = {"a": torch.ones(2), "b": torch.zeros(3), "c": torch.arange(4)}
    path = save_tensors(tmp_path / "f.safetensors", tensors, {"format": "test", "n": 3})
    some, meta = load_tensors(path, PROBLEM, FIX, fmt="test", names=["c", "a"])
    assert sorted(some) == ["a", "c"] and meta == {"format": "test", "n": 3}
    assert torch.equal(some["a"], tensors["a"]) and torch.equal(some["c"], tensors["c"])
    with pytest.raises(DCGANError) as err:
        load_tensors(path, PROBLEM, FIX, names=["a", "missing"])
    assert err.value.problem.startswith(f"{path} {PROBLEM} (") and "missing" in err.value.problem


def test_foreign_file_and_wrong_format_are_one_error_with_the_given_problem(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, foreign)  # a valid safetensors file with no metadata at all
    tensors, meta = load_tensors(foreign, PROBLEM, FIX)  # without fmt it reads, its metadata as {}
    assert meta == {} and torch.equal(tensors["w"], torch.zeros(3))
    with pytest.raises(DCGANError) as err:
        load_tensors(foreign, PROBLEM, FIX, fmt="test")
    assert err.value.problem == f"{foreign} {PROBLEM} (its format is None, not 'test')" and err.value.fix == FIX
    other = save_tensors(tmp_path / "other.safetensors", {"w": torch.zeros(1)}, {"format": "checkpoint"})
    with pytest.raises(DCGANError) as err:
        load_tensors(other, PROBLEM, FIX, fmt="test")
    assert err.value.problem == f"{other} {PROBLEM} (its format is 'checkpoint', not 'test')" and err.value.fix == FIX


def test_damaged_and_missing_files_are_one_error_with_the_given_problem(tmp_path):
    good = save_tensors(tmp_path / "good.safetensors", {"w": torch.randn(16)}, {"format": "test"})
    blob = good.read_bytes()
    cases = {
        "truncated": blob[:-7],
        "header-only": blob[:20],
        "zeros": b"\x00" * 100,
        "text": b"not a tensor file",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(DCGANError) as err:
            load_tensors(path, PROBLEM, FIX, fmt="test")
        assert err.value.problem.startswith(f"{path} {PROBLEM} (") and err.value.fix == FIX, name
    (tmp_path / "empty.safetensors").touch()
    with pytest.raises(DCGANError, match=r"\(ValueError: empty file\)"):  # not a header length of -1
        load_tensors(tmp_path / "empty.safetensors", PROBLEM, FIX)
    with pytest.raises(DCGANError) as err:
        load_tensors(tmp_path / "absent.safetensors", PROBLEM, FIX)
    assert err.value.problem.startswith(f"{tmp_path / 'absent.safetensors'} {PROBLEM} (FileNotFoundError")


def test_a_file_that_cannot_be_written_names_the_fix_its_cause_calls_for(tmp_path):
    """A folder removed under a run is not a full disk: each cause of a failed write gets its own fix."""
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DCGANError, match=r"(?s)cannot write .*a-file.*fix: choose a folder you can write to$"):
        atomic_write(tmp_path / "a-file" / "f.json", b"{}")
    gone = write_error(tmp_path / "removed" / "f.json", OSError(errno.ENOENT, "No such file or directory"))
    assert str(gone).endswith(
        f"fix: its folder {tmp_path / 'removed'} was removed or moved: put it back, or choose another folder"
    )
    full = write_error(tmp_path / "f.json", OSError(errno.ENOSPC, "No space left on device"), then=", then resume")
    assert str(full).endswith("fix: free disk space, then resume")


def test_metrics_of_a_run_whose_folder_was_removed_say_so(tmp_path):
    run = RunDir(tmp_path / "run")
    run.metrics.parent.mkdir(parents=True)
    shutil.rmtree(tmp_path / "run")
    with pytest.raises(
        DCGANError, match=r"(?s)cannot write .*metrics.jsonl.*was removed or moved.*then resume the run"
    ):
        run.append_metrics([{"step": 1}])
