"""Errors a user can act on.

Every failure caused by input (a missing file, a corrupt model, a video that does not
decode) is raised as an :class:`ExplorerError` whose message is one readable sentence:
what went wrong and, where possible, what to do. The CLI prints it as
``explorer: error: <message>`` and the GUI shows it in a dialog; neither shows a traceback.
"""

from __future__ import annotations


class ExplorerError(Exception):
    """A failure the user can understand and fix; the message is shown as it is."""


class VideoError(ExplorerError):
    """A video file that is missing, unreadable or has no decodable frames."""


class ModelFileError(ExplorerError):
    """A model file that is missing, corrupt, unsafe or not a Latent Explorer model."""


class Cancelled(ExplorerError):
    """Long work stopped because the user asked for it."""


def describe_error(exc: BaseException) -> str:
    """One line for the user; system errors (disk full, permissions) name the file."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror.lower()}{where}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
