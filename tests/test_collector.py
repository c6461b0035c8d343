"""Garbage is collected on the GUI thread only, never by a worker thread."""

import gc
import threading
import weakref

from explorer.ui.collector import collect_on_gui_thread, collect_when_due


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cycles_are_collected_by_the_gui_threads_timer_and_not_by_a_worker(qtbot, qapp):
    was_enabled = gc.isenabled()
    gc.enable()  # as Python starts
    timer = collect_on_gui_thread(qapp)
    try:
        assert not gc.isenabled(), "automatic collection is off"
        collected_on = []
        cycle = _Cycle()
        weakref.finalize(cycle, lambda: collected_on.append(threading.current_thread()))
        del cycle

        def allocate() -> None:  # past every threshold: automatic collection would run here
            for _ in range(5 * sum(gc.get_threshold())):
                _Cycle()

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert collected_on == [], "the worker collected nothing"
        qtbot.waitUntil(lambda: bool(collected_on), timeout=5_000)
        assert collected_on == [threading.main_thread()]
    finally:
        timer.stop()
        timer.deleteLater()
        (gc.enable if was_enabled else gc.disable)()


def test_only_the_generations_past_their_threshold_are_collected(monkeypatch):
    collected = []
    monkeypatch.setattr(gc, "collect", collected.append)
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(gc, "get_count", lambda: (701, 11, 3))
    collect_when_due()
    assert collected == [0, 1]
    monkeypatch.setattr(gc, "get_count", lambda: (12, 11, 30))
    collect_when_due()
    assert collected == [0, 1]
