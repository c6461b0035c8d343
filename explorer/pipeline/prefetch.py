"""Run a producer in a background thread so it overlaps with the consumer's work."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from explorer.priority import available_cores, lower_thread_priority

T = TypeVar("T")
_DONE = object()
_HANDOVER = object()
"""From a polite producer that was kept waiting for: carry on at normal priority."""
PATIENCE_S = 0.25
"""How long the consumer of a polite producer waits for an item before the rest is
produced at normal priority. Far longer than a polite producer that keeps up is ever
late by, far shorter than one starved by other busy programs takes."""
POLITE_ITEM_CPU_S = 0.025
"""A polite producer lowers its priority only after an item that cost it less CPU time
than this. Politeness pays for a cheap producer beside a busy consumer; a costly one is
likely the slow stage itself. It also bounds the wait for an item whose producer is
starved by other programs: at the lowest priority a thread gets about 1.5% of a core
that a busy thread wants, so 25 ms of work take under 2 s."""


def prefetch(
    items: Iterable[T],
    depth: int = 2,
    *,
    polite: bool = False,
    thread_context: Callable[[], AbstractContextManager[object]] | None = None,
) -> Iterator[T]:
    """Yield ``items`` while a thread computes the next ``depth`` ones ahead.

    Video decoding (OpenCV, PyAV) and torch both release the GIL, so decoding batch k+1
    really runs while the model works on batch k. An exception in the producer is re-raised
    in the consumer; closing the generator early stops the producer (after the item in
    progress). Every producer thread works inside ``thread_context()``, if given.

    ``polite``: once the producer has made a cheap item (:data:`POLITE_ITEM_CPU_S`), it
    runs at the lowest CPU priority (and torch on one thread in it), so that it only takes
    the moments the consumer's own threads (a video encoder's) leave idle, instead of
    taking turns with them and stalling their pipeline. As soon as the consumer has
    waited :data:`PATIENCE_S` for an item, the producer is what holds things up (or other
    programs are starving it): it finishes its item and a new thread produces the rest at
    normal priority, since a thread cannot raise its priority again without privileges.
    Only where threads have priorities of their own (Linux); elsewhere it changes
    nothing.
    """
    iterator = iter(items)
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    hurry = threading.Event()

    def produce(may_lower: bool) -> None:
        lowered = False
        try:
            with thread_context() if thread_context else contextlib.nullcontext():
                while True:
                    started = time.thread_time()
                    item = next(iterator, _DONE)
                    cheap = time.thread_time() - started < POLITE_ITEM_CPU_S
                    if item is _DONE or not _put(slots, item, stop):
                        break
                    if lowered and hurry.is_set():
                        _put(slots, _HANDOVER, stop)
                        return
                    if may_lower and not lowered and cheap and not hurry.is_set():
                        lowered = lower_thread_priority()
                        if lowered:
                            _torch_on_one_thread()
            _put(slots, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            _put(slots, exc, stop)

    def start(may_lower: bool) -> threading.Thread:
        thread = threading.Thread(target=produce, args=(may_lower,), name="prefetch", daemon=True)
        thread.start()
        return thread

    worker = start(polite)
    try:
        while True:
            patient = not polite or hurry.is_set()
            try:
                item = slots.get(timeout=None if patient else PATIENCE_S)
            except queue.Empty:
                hurry.set()
                continue
            if item is _DONE:
                return
            if item is _HANDOVER:
                worker.join()
                worker = start(False)
                continue
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


def _torch_on_one_thread() -> None:
    """For a polite producer: the threads of its torch pool keep normal priority, and
    would spin at every barrier for a thread that now waits for the CPU. Its items are
    cheap, and one thread does them. ``thread_context`` may restore the count at the end."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


@contextmanager
def leave_cores(count: int = 1) -> Iterator[None]:
    """Run torch on all cores but ``count`` in this thread, while a producer uses them.

    torch sizes its thread pool to every core. Beside a thread that decodes or encodes
    video, its workers oversubscribe the machine: one that loses its core stalls the others
    at the next barrier, and on a small machine the overlapped pipeline ends up slower than
    the two stages one after the other. Leaving the producer its cores keeps both busy.
    In torch's OpenMP builds (its wheels) the setting is per thread: threads already
    running keep theirs, while threads started meanwhile begin with it. Nothing changes
    when torch is not in use (a model without it) or where there are cores to spare.
    """
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else 0
    wanted = _threads_leaving(count, threads)
    if torch is None or wanted == threads:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _threads_leaving(count: int, threads: int) -> int:
    return max(1, min(threads, available_cores() - count))
