"""The model and what every tool shares: the networks, z and G(z), image files, and the files a run leaves.

Nothing here reads datasets or trains; everything above (``data``, ``training``,
``experiments``, ``cli``) builds on it. Read ``models.py`` first.
"""
