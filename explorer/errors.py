"""Errors a user can act on.

Every failure caused by input (a missing file, a corrupt model, a video that does not
decode) is raised as an :class:`ExplorerError` whose message is one readable sentence:
what went wrong and, where possible, what to do. The CLI prints it as
``explorer: error: <message>`` and the GUI shows it in a dialog; neither shows a traceback.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with control characters escaped (a newline becomes ``\\n``): names and
    values taken from files can neither break a one-line message nor send a terminal
    escape codes."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class ExplorerError(Exception):
    """A failure the user can understand and fix, in one line: control characters that
    came from a file or a name in it are escaped."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(printable(str(message)), *args)


class VideoError(ExplorerError):
    """A video file that is missing, unreadable or has no decodable frames."""


class ModelFileError(ExplorerError):
    """A model file that is missing, corrupt, unsafe or not a Latent Explorer model."""


class Cancelled(ExplorerError):
    """Long work stopped because the user asked for it."""


def describe_error(
    exc: BaseException, *, with_type: bool = False, with_file: bool = True
) -> str:
    """One line for the user, from any exception.

    A system error (disk full, permissions: an ``OSError``, or PyAV's ``FFmpegError``,
    with a reason) gives its reason in lower case and the file it names, unless
    ``with_file`` is False because the message around it names the file already. Anything
    else gives the first line of its message, or its type when it has none. With
    ``with_type``, an exception that is not an :class:`ExplorerError` (a bug, a model's
    own error) is prefixed by its type, for its message alone may mean nothing
    (``KeyError: 'x'``).
    """
    reason = getattr(exc, "strerror", None)
    if isinstance(reason, str) and reason:
        filename = getattr(exc, "filename", None) if with_file else None
        text = f"{reason.lower()}: {filename}" if filename else reason.lower()
    else:
        text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    if with_type and not isinstance(exc, ExplorerError):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text or type(exc).__name__
