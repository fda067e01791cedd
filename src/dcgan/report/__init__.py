"""What a person looks at: the self-contained HTML report of a run and TensorBoard logging.

Below ``training/`` (callbacks in ``training/callbacks/reporting.py`` call in here); imports only ``core/``.
"""

from .html import build_report, write_report

__all__ = ["build_report", "write_report"]
