"""Python's cyclic garbage collection, done on the GUI thread only.

Left automatic, a collection runs on whichever thread happens to allocate past a
threshold. When a worker thread collects a cycle that holds Qt objects, they are
destroyed off the GUI thread, and PySide then takes the GIL and Qt's locks in the
opposite order to the GUI thread: the app deadlocked (seen in the tests: the scene
finder's thread, importing scikit-learn, collected the wrappers of a closed window's
menus while the GUI thread deleted them). So automatic collection is off while the app
runs, and the GUI thread collects on a timer, by generation as Python itself would
(pyqtgraph's ``GarbageCollector`` does the same; this one also lets a caller collect
when it likes, and stops).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


def collect_when_due() -> None:
    """Collect each generation whose count has passed Python's threshold for it."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in range(3):
        if counts[generation] <= thresholds[generation]:
            break
        gc.collect(generation)


def collect_on_gui_thread(parent: QObject) -> QTimer:
    """Turn automatic collection off and collect from a timer of ``parent`` (an object of
    the GUI thread: the application), every :data:`INTERVAL_MS`. Returns the timer."""
    gc.disable()
    timer = QTimer(parent, interval=INTERVAL_MS)
    timer.timeout.connect(collect_when_due)
    timer.start()
    return timer
