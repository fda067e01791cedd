"""The latent-space explorer: a local web app over the same Python API as the CLI (``dcgan serve``)."""

from .api import Limits, create_app
from .explorer import Explorer
from .server import bind, serve

__all__ = ["Explorer", "Limits", "bind", "create_app", "serve"]
