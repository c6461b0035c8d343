"""Run a producer in a background thread so it overlaps with the consumer's work."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` while a thread computes the next ``depth`` ones ahead.

    Video decoding (OpenCV, PyAV) and torch both release the GIL, so decoding batch k+1
    really runs while the model works on batch k. An exception in the producer is re-raised
    in the consumer; closing the generator early stops the producer.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(slots, item, stop):
                    return
            _put(slots, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(slots, exc, stop)

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _put(slots: queue.Queue, item: object, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            slots.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
