"""The ``dcgan`` command line: ``main`` is its entry point (``dcgan = dcgan.cli:main``)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
