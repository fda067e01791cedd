"""``dcgan report``, ``serve`` and ``export``: the ways to look at a run and take its generator elsewhere."""

from __future__ import annotations

import argparse

from ..report import write_report


def register_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="rebuild a run's report.html",
        description="Write RUN_DIR/report.html, the self-contained page training keeps up to date (opens from disk).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder")
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    print(f"wrote {write_report(args.run_dir)}")
    return 0
