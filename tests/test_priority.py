"""Background children start at a low CPU priority; the caller's own is kept."""

import multiprocessing
import os
import sys
import threading

import pytest

from explorer.priority import BACKGROUND_NICE, start_quietly

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="nice values are per thread on Linux only")


def _report_nice(queue) -> None:
    queue.put(os.getpriority(os.PRIO_PROCESS, 0))


def test_a_child_started_quietly_runs_at_a_low_priority_and_the_caller_keeps_its_own():
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_report_nice, args=(queue,), name="nice-probe")
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    start_quietly(child)
    assert queue.get(timeout=60) == BACKGROUND_NICE
    child.join(timeout=30)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_a_child_that_cannot_start_raises_in_the_caller():
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_report_nice, args=(context.Queue(),), name="twice")
    start_quietly(child)
    with pytest.raises(AssertionError, match="twice"):
        start_quietly(child)
    child.join(timeout=30)
