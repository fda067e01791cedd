"""The ``dcgan`` command: a thin layer over the Python API.

Each topic module (``train``, ``data``, ``latent``, ``features``) has one ``register_*``
function per subcommand, which adds its parser and sets ``run``; ``run`` reads the flags,
calls the Python API and prints. User errors (:class:`DCGANError`) become one line and
exit status 2; Ctrl-C exits 130, SIGTERM 143, each after unwinding (one line, nothing left half-done).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings

from tqdm import tqdm

from .. import __version__
from ..core.signals import Terminated, handling, raise_terminated
from ..errors import DCGANError, DCGANWarning
from ..training import distributed
from .conditional import register_nn_protocol
from .data import register_cache, register_dedup, register_download, register_prepare
from .features import register_features, register_linear_probe
from .inside import register_forget, register_nearest, register_visualize_d
from .latent import register_arithmetic, register_attribute_classifier, register_direction, register_interpolate
from .metrics import register_evaluate, register_train_classifier
from .reproduce import register_reproduce, register_results
from .train import register_info, register_sample, register_train
from .view import register_export, register_report, register_serve

SUBCOMMANDS = [
    register_train,
    register_sample,
    register_info,
    register_prepare,
    register_dedup,
    register_download,
    register_cache,
    register_interpolate,
    register_arithmetic,
    register_direction,
    register_attribute_classifier,
    register_features,
    register_linear_probe,
    register_visualize_d,
    register_forget,
    register_nearest,
    register_report,
    register_export,
    register_serve,
    register_nn_protocol,
    register_evaluate,
    register_train_classifier,
    register_reproduce,
    register_results,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dcgan", description="Train, sample and study Deep Convolutional GANs (Radford et al., 2016)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # the help reads the package's recipe configs (their expected hours): a damaged install fails here
        parser = build_parser()
    except DCGANError as exc:
        print(f"dcgan: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # restores Python's own warning display when the command ends
        warnings.simplefilter("always", DCGANWarning)
        warnings.showwarning = _show_warning(args.command)
        code = _run(args)
    distributed.exit_now(code)  # under torchrun: skip Python's shutdown (training/distributed.py says why)
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        with handling((signal.SIGTERM,), raise_terminated):  # training replaces it with its own while it runs
            return args.run(args)
    except DCGANError as exc:
        print(f"dcgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        said = f": {exc}" if str(exc) else ""
        if isinstance(exc, Terminated):  # no ^C on the terminal to end the line after
            sys.stdout.flush()  # what was printed before it, in order
            print(f"dcgan {args.command}: stopped by SIGTERM{said}", file=sys.stderr, flush=True)
            return 128 + signal.SIGTERM
        print(f"\ndcgan {args.command}: interrupted{said}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``dcgan ... | head``): what it wanted is written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so Python's exit flush cannot fail too
        return 0


def _show_warning(command: str):
    """Print dcgan's warnings as ``dcgan CMD: warning: ...`` above any progress bar; others as Python does."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DCGANWarning):
            tqdm.write(f"dcgan {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show
