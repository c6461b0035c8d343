"""Ctrl-C (SIGINT) and SIGTERM as a request to stop, honoured where stopping is safe.

Python's own SIGINT handler raises :class:`KeyboardInterrupt` at whatever bytecode the
main thread runs next. In this program that is often Python code that C++ called back
(torch's pybind11 bindings), which cannot pass the exception on: the process then
aborts (exit 134, ``terminate called ...``) or, inside code run through
``PyRun_String``, dies by SIGINT after printing that it was interrupted. An interrupt
that lands in a thread join also leaves that thread (a torch decode, an x264 encode)
running while the interpreter shuts down.

So the commands that do long work (``train``, ``encode``, ``export``) :func:`install`
a handler that only records the signal. Their progress callbacks call :func:`check`,
which raises :class:`Interrupted` (a ``KeyboardInterrupt``) there, in plain Python code
between batches, from where the usual ``with`` blocks remove temporary files and join
threads. :func:`check` is a no-op where nothing is installed (the app, library use).
A second signal before the first is honoured raises at once: the way out of a stage
that never reaches a check.
"""

from __future__ import annotations

import signal
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Raised by :func:`check` for a recorded signal; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_pending: int | None = None
"""The signal received and not yet raised by :func:`check`."""
_last: int | None = None
"""The signal :func:`check` raised last: the one that stopped the work."""


def install() -> None:
    """Record SIGINT and SIGTERM instead of raising wherever the main thread is.

    Call from the main thread, before the work starts.
    """
    for signum in HANDLED:
        signal.signal(signum, _record)


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived since the last check."""
    global _pending, _last
    if _pending is not None:
        _last, _pending = _pending, None
        raise Interrupted(_last)


def exit_code() -> int:
    """The exit status for work stopped by a signal: 143 for SIGTERM, else 130 (SIGINT)."""
    return 128 + (_last or signal.SIGINT)


def _record(signum: int, _frame: FrameType | None) -> None:
    global _pending, _last
    if _pending is None:
        _pending = signum
        return
    _last, _pending = signum, None
    raise Interrupted(signum)
