"""``python -m dcgan.cli`` is the ``dcgan`` command too."""

from .main import main

raise SystemExit(main())
