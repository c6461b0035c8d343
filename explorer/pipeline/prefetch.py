"""Run a producer in a background thread so it overlaps with the consumer's work."""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


@contextmanager
def leave_cores(count: int = 1) -> Iterator[None]:
    """Run torch on all cores but ``count`` in this thread, while a producer uses them.

    torch sizes its thread pool to every core. Beside a thread that decodes or encodes
    video, its workers oversubscribe the machine: one that loses its core stalls the others
    at the next barrier, and on a small machine the overlapped pipeline ends up slower than
    the two stages one after the other. Leaving the producer its cores keeps both busy.
    In torch's OpenMP builds (its wheels) the setting is per thread, so other threads keep
    theirs. Nothing changes when torch is not in use (a model without it) or where there
    are cores to spare.
    """
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else 0
    wanted = max(1, min(threads, _available_cores() - count))
    if torch is None or wanted == threads:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
