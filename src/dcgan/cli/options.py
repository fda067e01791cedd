"""Flags that several subcommands share, defined once so their names, defaults and help agree.

Flags for dataclass fields (every :class:`~dcgan.training.TrainConfig` option, every
:class:`~dcgan.data.SourceOptions` option) are generated from the fields' ``help`` metadata,
so each help text is written once, beside the field it describes. Generated flags leave
unset options out of the parsed arguments (``argparse.SUPPRESS``), so a command can tell
"given" from "default": ``--resume`` needs that.
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import fields
from pathlib import Path

from ..core.checkpoints import GENERATORS, pretrained_names, pretrained_path
from ..core.sampling import MAX_SEED
from ..core.tensorfile import atomic_write_json
from ..data import SourceOptions


def bounded_int(low: int, high: int | None = None):
    """An argparse type: an integer from ``low`` to ``high``, else a usage error saying the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            within = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: use an integer {within}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


seed_value = bounded_int(0, MAX_SEED)


def add_seed(p: argparse.ArgumentParser, help: str, default: int = 0) -> None:
    """``--seed``, the same validated range in every command."""
    p.add_argument("--seed", type=seed_value, default=default, help=f"{help} [default: {default}]")


def _flag_type(hint) -> type:
    """int | None -> int: the type a flag's text is read as."""
    if isinstance(hint, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.get_origin(hint) or hint


def add_field_flags(p: argparse.ArgumentParser, cls: type, names: list[str] | None = None) -> None:
    """One ``--flag`` per field of the dataclass ``cls`` (or only ``names``), typed and helped by the field."""
    hints = typing.get_type_hints(cls)  # resolved once: annotations are strings (postponed evaluation)
    for f in fields(cls):
        if names is not None and f.name not in names:
            continue
        kind = _flag_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata["help"]
        if "(default:" not in help_text:  # a default that depends on the data says so in its own words
            help_text += f" [default: {f.default}]"
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        else:
            p.add_argument(
                flag,
                type=kind,
                choices=f.metadata.get("choices"),
                default=argparse.SUPPRESS,
                help=help_text,
                metavar=f.name.upper(),
            )


def given(args: argparse.Namespace, cls: type) -> dict:
    """The fields of ``cls`` that were given on the command line, by name."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def add_source_options(p: argparse.ArgumentParser, names: list[str] | None = None) -> None:
    """The data options (all, or only ``names``): resolution, channels, limit, skip-bad, where, split."""
    add_field_flags(p, SourceOptions, names)


def source_options(args: argparse.Namespace) -> SourceOptions:
    return SourceOptions(**given(args, SourceOptions))


def add_limit(p: argparse.ArgumentParser) -> None:
    add_source_options(p, ["limit"])


def add_checkpoint(
    p: argparse.ArgumentParser, required: bool = True, help: str | None = None, generator: bool = False
) -> None:
    """--checkpoint PATH or --pretrained NAME, either setting ``checkpoint`` (one of them required, unless
    ``required`` is False: then ``p`` may be a group of alternatives); with ``generator``, also --generator: which of
    the checkpoint's generators to draw from."""
    alternatives = p.add_mutually_exclusive_group(required=True) if required else p
    alternatives.add_argument(
        "--checkpoint",
        metavar="PATH",
        help=help or "a .safetensors checkpoint, a run folder (its last checkpoint) or a generator-only file",
    )
    add_pretrained(alternatives)
    if generator:
        add_generator(p)


def add_pretrained(p: argparse.ArgumentParser, append: bool = False) -> None:
    """--pretrained NAME: a model shipped inside the package, read as the checkpoint (``append``: beside others)."""
    shipped = ", ".join(pretrained_names()) or "none yet"
    p.add_argument(
        "--pretrained",
        dest="checkpoint",
        action="append" if append else "store",
        type=pretrained_path,
        metavar="NAME",
        help=f"a model shipped inside the package, in place of a checkpoint (this install ships: {shipped})",
    )


def add_generator(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator",
        choices=GENERATORS,
        default="auto",
        help="'ema': the averaged G of a run trained with --ema; 'raw': the G the game trained (the paper's);"
        " 'auto': the averaged one where the run kept it [default: auto]",
    )


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps [default: auto]")


def add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")


def write_json(path: str | Path | None, report: dict) -> None:
    """A command's ``--json`` report: indented, written whole or not at all (nothing when ``path`` is None)."""
    if path:
        atomic_write_json(Path(path), report)
