"""Garbage is collected on the GUI thread only, never by a worker thread."""

import gc
import sys
import threading
import weakref

from explorer.ui import collector
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


def test_only_the_oldest_generation_past_its_threshold_is_collected(monkeypatch):
    collected = []
    monkeypatch.setattr(gc, "collect", lambda generation: collected.append(generation) or 0)
    monkeypatch.setattr(gc, "get_threshold", lambda: (700, 10, 10))
    monkeypatch.setattr(gc, "get_count", lambda: (701, 3, 3))
    collect_when_due()
    assert collected == [0]
    monkeypatch.setattr(gc, "get_count", lambda: (701, 11, 3))
    collect_when_due()
    assert collected == [0, 1]
    monkeypatch.setattr(gc, "get_count", lambda: (12, 11, 30))
    collect_when_due()
    assert collected == [0, 1]


def test_a_full_collection_waits_until_long_lived_objects_grow_by_a_quarter(monkeypatch):
    """CPython's rule: the window froze for a fifth of a second at every tenth middle
    collection while every one past the third generation's count was a full one."""
    collect = gc.collect
    collected = []
    monkeypatch.setattr(gc, "collect", lambda generation: collected.append(generation)
                        or collect(generation))
    monkeypatch.setattr(gc, "get_count", lambda: (701, 11, 11))  # each generation due
    monkeypatch.setattr(collector._Heap, "total", 0)
    monkeypatch.setattr(collector._Heap, "pending", 0)
    collect_when_due()
    assert collected == [2], "the first is full, as CPython's"
    survivors = collector._Heap.total
    assert survivors > 1_000
    collect_when_due()
    collect_when_due()
    assert collected == [2, 1, 1], "few new objects outlived the middle collections"
    kept = [_Cycle() for _ in range(survivors // 4)]
    collect_when_due()
    assert collected == [2, 1, 1, 1]
    assert collector._Heap.pending >= len(kept)
    collect_when_due()
    assert collected == [2, 1, 1, 1, 2], "a quarter more: a full collection"
    assert collector._Heap.pending == 0
    assert collector._Heap.total >= survivors


def test_the_libraries_loaded_with_the_first_model_are_frozen_once(monkeypatch):
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(collector._Heap, "frozen", False)
    collector.freeze_loaded_libraries()
    collector.freeze_loaded_libraries()
    assert frozen == [True]


def test_a_window_that_loads_a_model_freezes_the_libraries(qtbot, tmp_path, monkeypatch):
    from explorer.latent.synthetic import random_walk_trajectory
    from explorer.paths import demo_model_path
    from explorer.ui.main_window import MainWindow

    frozen_with = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen_with.append("torch" in sys.modules))
    monkeypatch.setattr(collector._Heap, "frozen", False)
    trajectory = random_walk_trajectory(20, 16, seed=0).save(tmp_path / "walk.npz")
    window = MainWindow(trajectory, demo_model_path(), interactive=False)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.ready, timeout=60_000):
        window.start()
    assert frozen_with == [True], "frozen once, torch loaded"
