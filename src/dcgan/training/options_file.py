"""A training config file: a JSON object of :class:`TrainConfig` options (``dcgan train --config FILE``).

The file holds any subset of the fields, spelled as in ``config.json`` (``batch_size``, not
``--batch-size``); what it leaves out keeps its default, and flags given on the command line
override it. So a run's own ``config.json`` is a valid file too, and so are the recipes'
training stages (``dcgan reproduce``). JSON, because the project writes and reads its
configs as JSON already and needs no further library for it. This module owns the format.

Each key and value is checked here, before any data is read, so a typo or a wrong type is
one line naming the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import fields
from pathlib import Path

from ..core.tensorfile import atomic_write_json
from ..errors import DCGANError
from .config import TrainConfig

_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string in double quotes"}


def _accepted(hint) -> tuple[list[type], bool]:
    """int | None -> ([int], True): the value types a field takes, and whether null is allowed."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return [a for a in args if a is not type(None)], type(None) in args


def _fits(value, kind: type) -> bool:
    if kind is float:  # 1 is a fine learning rate multiplier too
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_option(key: str, value, source: str = "config") -> None:
    """Refuse a value of the wrong type or outside the field's choices, naming the key and what it takes."""
    hints = typing.get_type_hints(TrainConfig)
    field = next(f for f in fields(TrainConfig) if f.name == key)
    kinds, nullable = _accepted(hints[key])
    if value is None:
        if nullable:
            return
        raise DCGANError(f"{source}: {key} cannot be null", f"give {_KINDS[kinds[0]]}, or leave {key} out")
    if not any(_fits(value, kind) for kind in kinds):
        wanted = " or ".join(_KINDS[kind] for kind in kinds) + (" (or null)" if nullable else "")
        raise DCGANError(f"{source}: {key} must be {wanted}, not {json.dumps(value)}", f"write e.g. {_example(key)}")
    choices = field.metadata.get("choices")
    if choices and value not in choices:
        raise DCGANError(
            f"{source}: {key} is {json.dumps(value)}, not one of its choices",
            f"choose one of {', '.join(json.dumps(c) for c in choices)}",
        )


def _example(key: str) -> str:
    default = next(f.default for f in fields(TrainConfig) if f.name == key)
    return f'"{key}": {json.dumps(default)}'


def _unknown_key(key: str, source: str) -> DCGANError:
    names = [f.name for f in fields(TrainConfig)]
    close = difflib.get_close_matches(key.replace("-", "_").removeprefix("__"), names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return DCGANError(
        f"{source}: unknown option {key!r}",
        f"{hint}keys are dcgan train's options with _ for - (dcgan train --help lists them)",
    )


def read_options(path: str | Path) -> dict:
    """The options of the config file ``path``, checked key by key (a full config is checked by TrainConfig)."""
    path = Path(path)
    try:
        values = json.loads(path.read_text())
    except OSError as exc:
        raise DCGANError(f"cannot read config {path}: {exc.strerror or exc}", "pass an existing JSON file") from None
    except ValueError as exc:  # not UTF-8, or not JSON: name the line
        raise DCGANError(f"config {path} is not valid JSON: {exc}", 'write {"epochs": 5, "batch_size": 128}') from None
    if not isinstance(values, dict):
        raise DCGANError(f"config {path} is not a JSON object of options", 'write {"epochs": 5, "batch_size": 128}')
    check_options(values, f"config {path}")
    return values


def check_options(values: dict, source: str = "config") -> None:
    """Every key a TrainConfig field, every value of its type and among its choices."""
    names = {f.name for f in fields(TrainConfig)}
    for key, value in values.items():
        if key not in names:
            raise _unknown_key(key, source)
        check_option(key, value, source)


def config_from(path: str | Path | None, **overrides) -> TrainConfig:
    """The config of ``path`` (none: the defaults) with ``overrides`` (the command line's flags) on top."""
    values = read_options(path) if path is not None else {}
    try:
        return TrainConfig(**(values | overrides))
    except DCGANError as exc:
        if path is None:
            raise
        raise DCGANError(f"config {path} (with the flags given): {exc.problem}", exc.fix) from None


def write_options(path: str | Path, values: dict) -> Path:
    """Write options as a config file that :func:`read_options` reads back (checked first)."""
    path = Path(path)
    check_options(values, f"options for {path}")
    atomic_write_json(path, values)
    return path
