"""Producers in a background thread: overlap, errors, and polite (low-priority) producers."""

import contextlib
import os
import sys
import threading
import time

import pytest

from explorer.pipeline import prefetch as prefetch_module
from explorer.pipeline.prefetch import prefetch

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="threads have priorities of their own on Linux"
)


def thread_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_decoding_overlaps_with_the_consumer():
    """The producer starts item 2 while the consumer still holds item 1."""
    second_started = threading.Event()

    def produce():
        yield 1
        second_started.set()
        yield 2

    items = prefetch(produce(), depth=1)
    assert next(items) == 1
    assert second_started.wait(timeout=10), "the next item was not prepared in the background"
    assert list(items) == [2]


def test_prefetch_passes_producer_errors_on():
    def produce():
        yield 1
        raise ValueError("broken frame")

    with pytest.raises(ValueError, match="broken frame"):
        list(prefetch(produce()))


def test_closing_early_stops_the_producer():
    produced = []

    def produce():
        for number in range(1000):
            produced.append(number)
            yield number

    items = prefetch(produce(), depth=2)
    assert next(items) == 0
    items.close()
    count = len(produced)
    time.sleep(0.2)
    assert len(produced) == count < 1000, "the producer went on after the consumer stopped"


@linux_only
def test_a_polite_producer_runs_at_the_lowest_priority_after_its_first_cheap_item():
    before = thread_priority()

    def produce():
        for _ in range(5):
            yield thread_priority()

    assert list(prefetch(produce(), polite=True)) == [before] + [19] * 4
    assert thread_priority() == before, "the consumer keeps its priority"


def threads_of_a_new_thread(torch) -> int:
    counts = []
    thread = threading.Thread(target=lambda: counts.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return counts[0]


@linux_only
def test_a_polite_producer_runs_torch_on_one_thread_until_its_context_ends():
    torch = pytest.importorskip("torch")
    default = threads_of_a_new_thread(torch)

    @contextlib.contextmanager
    def two_threads():
        previous = torch.get_num_threads()
        torch.set_num_threads(2)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def produce():
        for _ in range(3):
            yield torch.get_num_threads()

    assert list(prefetch(produce(), polite=True, thread_context=two_threads)) == [2, 1, 1]
    assert threads_of_a_new_thread(torch) == default, "the context put the count back"


@linux_only
def test_a_producer_whose_items_cost_much_cpu_keeps_normal_priority(monkeypatch):
    monkeypatch.setattr(prefetch_module, "POLITE_ITEM_CPU_S", 0.005)
    normal = thread_priority()

    def produce():
        for _ in range(3):
            end = time.thread_time() + 0.02
            while time.thread_time() < end:
                pass
            yield thread_priority()

    assert list(prefetch(produce(), polite=True)) == [normal] * 3


class ContextPerThread:
    """A thread context that notes the threads entering and leaving it."""

    def __init__(self):
        self.entered, self.left = [], []

    @contextlib.contextmanager
    def __call__(self):
        self.entered.append(threading.current_thread())
        yield
        self.left.append(threading.current_thread())


@linux_only
def test_a_polite_producer_kept_waiting_for_hands_the_rest_to_a_normal_priority_thread(
    monkeypatch,
):
    monkeypatch.setattr(prefetch_module, "PATIENCE_S", 0.05)
    normal = thread_priority()
    context = ContextPerThread()

    def produce():
        yield "fast", thread_priority(), threading.current_thread()
        time.sleep(0.5)  # the consumer runs out of patience meanwhile
        for name in ("slow", "after", "last"):
            yield name, thread_priority(), threading.current_thread()

    got = list(prefetch(produce(), polite=True, thread_context=context))
    assert [name for name, _, _ in got] == ["fast", "slow", "after", "last"]
    # the item in progress is finished where it started, the rest go to a new thread
    assert [priority for _, priority, _ in got] == [normal, 19, normal, normal]
    first, second = got[0][2], got[2][2]
    assert first is not second and got[1][2] is first and got[3][2] is second
    assert context.entered == context.left == [first, second]


@linux_only
def test_errors_after_a_handover_still_reach_the_consumer(monkeypatch):
    monkeypatch.setattr(prefetch_module, "PATIENCE_S", 0.05)
    normal = thread_priority()
    raised_at = []

    def produce():
        yield thread_priority()
        time.sleep(0.3)
        yield thread_priority()
        raised_at.append(thread_priority())
        raise ValueError("broken latent")

    items = prefetch(produce(), polite=True)
    assert [next(items), next(items)] == [normal, 19]
    with pytest.raises(ValueError, match="broken latent"):
        next(items)
    assert raised_at == [normal], "the rest ran on a normal-priority thread"
