"""Hand work items to a consumer running on its own thread."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class BackgroundConsumer(Generic[T]):
    """Calls ``consume(item)`` on a thread of its own for each item :meth:`put` here.

    At most ``depth`` items wait; :meth:`put` blocks beyond that. The first exception
    ``consume`` raises is re-raised by the next :meth:`put` or by :meth:`finish`, and the
    items after it are dropped unconsumed.
    """

    def __init__(self, consume: Callable[[T], None], depth: int, name: str) -> None:
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._dropping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        self._raise_error()
        self._queue.put(item)

    def finish(self) -> None:
        """Wait until every item is consumed, then re-raise the consumer's error if any."""
        self._stop()
        self._raise_error()

    def cancel(self) -> None:
        """Drop the items still waiting and stop the thread; errors are ignored."""
        self._dropping = True
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_END)
            self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is not None or self._dropping:
                continue
            try:
                self._consume(item)
            except BaseException as exc:  # handed to the thread that puts or finishes
                self._error = exc
