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

"As Python itself would" includes CPython's rule for the oldest generation: a full
collection walks every object the process holds (torch, Qt, pyqtgraph and umap-learn
make that 230,000 to 380,000 of them, 190 to 390 ms here), so it runs only once the
objects that outlived the younger collections since the last one number a quarter of
those that outlived it. Without that rule, every tenth middle collection was a full one,
and the window froze for a fifth of a second every few seconds.

Most of those objects are torch's and the other libraries' modules, which live as long as
the process. :func:`freeze_loaded_libraries` moves them out of every later collection
once the first model is loaded (``gc.freeze``), so that the collections the app's own
objects still need walk a fraction of them.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500
LONG_LIVED_GROWTH = 0.25
"""CPython's ``long_lived_pending < long_lived_total / 4`` (gcmodule.c)."""


class _Heap:
    """What CPython counts of the oldest generation: the objects that survived the last
    full collection (``total``) and those the younger collections moved there since
    (``pending``); and whether the loaded libraries are frozen."""

    total = 0
    pending = 0
    frozen = False


def collect_when_due() -> None:
    """Collect the oldest generation whose count has passed Python's threshold for it,
    and the younger ones with it; the oldest only under CPython's growth rule (see the
    module docstring)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if counts[0] <= thresholds[0]:
        return
    if counts[1] <= thresholds[1]:
        gc.collect(0)
    elif counts[2] > thresholds[2] and \
            _Heap.pending >= LONG_LIVED_GROWTH * _Heap.total:
        gc.collect(2)
        _Heap.total, _Heap.pending = len(gc.get_objects(2)), 0
    else:
        young = len(gc.get_objects(0)) + len(gc.get_objects(1))
        _Heap.pending += max(young - gc.collect(1), 0)


def freeze_loaded_libraries() -> None:
    """Leave every object alive now out of all later collections, once per process: called
    when the first model is loaded, torch and the model code imported.

    What is alive then is mostly modules, classes and functions, which stay for good; an
    object among them that later ends in a reference cycle is not freed (one that loses
    its last reference is, as ever). The first model is freed by reference counting when
    it is replaced (a built-in model's module holds no cycle: checked), so freezing costs
    little memory, and saves each full collection a walk of a quarter of a million
    objects. Safe from any thread: it destroys nothing."""
    if not _Heap.frozen:
        _Heap.frozen = True
        gc.freeze()


def collect_on_gui_thread(parent: QObject) -> QTimer:
    """Turn automatic collection off and collect from a timer of ``parent`` (an object of
    the GUI thread: the application), every :data:`INTERVAL_MS`. Returns the timer."""
    gc.disable()
    timer = QTimer(parent, interval=INTERVAL_MS)
    timer.timeout.connect(collect_when_due)
    timer.start()
    return timer
