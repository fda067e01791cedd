"""User-facing errors.

Anything a user can cause (a wrong path, a corrupt file, an impossible option) is raised
as :class:`DCGANError`, whose message names the problem *and* the fix. The CLI prints it
in one line and exits non-zero instead of showing a traceback.
"""


class DCGANError(Exception):
    """A problem with the user's input, reported as one readable message."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  fix: {fix}")


class DCGANWarning(UserWarning):
    """A result that may mislead (a class lost by --limit, an unhealthy run): named, with what to try."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  try: {fix}")


def warn(problem: str, fix: str | None = None) -> None:
    """Report a :class:`DCGANWarning` (the CLI prints it as one ``warning:`` line, keeping progress bars intact)."""
    import warnings

    warnings.warn(DCGANWarning(problem, fix), stacklevel=2)
