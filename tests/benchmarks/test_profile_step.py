"""benchmarks.profile_step: every operator's time lands in one kind, the optimizer's under its own."""

from argparse import Namespace


def test_a_profiled_step_splits_into_kinds_that_add_up():
    from benchmarks.profile_step import KINDS, profile_precision

    args = Namespace(preset="small", batch=4, resolution=16, steps=1)
    result = profile_precision(args, "fp32")
    kinds = result["kinds"]
    assert set(kinds) == set(KINDS)
    assert abs(sum(kinds.values()) - result["ms_per_step"]) < 0.1 * len(KINDS)  # each kind rounded to 0.1 ms
    for kind in ("conv forward", "conv backward", "3-channel conv", "BatchNorm", "optimizer"):
        assert kinds[kind] > 0, kind
    assert len(result["top_ops"]) == 10
