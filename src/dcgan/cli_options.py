"""Flags that several subcommands share, defined once so their names, defaults and help agree."""

from __future__ import annotations

import argparse


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps [default: auto]")


def add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")


def add_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, help="use only the first N images (quick experiments)")
