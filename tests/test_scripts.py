"""scripts/train.sh: the default run's --eval-every, twice an epoch, derived by the package from the arguments."""

import re
import sys
from pathlib import Path

import pytest

TRAIN_SH = Path(__file__).resolve().parents[1] / "scripts" / "train.sh"
BUNDLED_IMAGES = 30_000  # the bundled MNIST sample (src/dcgan/assets/mnist-sample/ATTRIBUTION.md)


def half_an_epoch(args: list[str], capsys) -> int:
    """What train.sh's Python part prints for these extra arguments (run here, as its heredoc runs)."""
    code = re.search(r"<<'PY'\n(.*?)\nPY\n", TRAIN_SH.read_text(), re.S).group(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["-", *args])
        exec(compile(code, str(TRAIN_SH), "exec"), {})
    return int(capsys.readouterr().out)


@pytest.mark.parametrize(
    "args, steps",
    [
        ([], BUNDLED_IMAGES // 128 // 2),  # 117: the default batch
        (["--batch-size", "64", "--limit", "1000", "--no-cache", "--no-progress"], 1000 // 64 // 2),
        (["--batch-size=50", "--limit", "1000", "--no-cache"], 1000 // 50 // 2),  # the --flag=value form too
    ],
)
def test_train_sh_scores_twice_an_epoch_of_the_run_it_starts(args, steps, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DCGAN_CACHE", str(tmp_path))  # the default run caches the decoded sample
    assert half_an_epoch(args, capsys) == steps
