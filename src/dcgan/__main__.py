"""``python -m dcgan`` is the ``dcgan`` command."""

from .cli import main

raise SystemExit(main())
