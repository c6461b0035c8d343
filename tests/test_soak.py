"""A long random walk through the app: memory must not grow without bound."""

import gc
import random

import numpy as np
from PySide6.QtCore import QPointF

from tests.gui_helpers import choose_projection, ready_window


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        resident_pages = int(handle.read().split()[1])
    import os

    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def walk(window, qtbot, rng: random.Random, steps: int) -> None:
    bar, embedding = window.projection_bar, window.state.projection.embedding
    low, high = embedding.min(axis=0), embedding.max(axis=0)
    for step in range(steps):
        action = rng.choice(["scrub", "scrub", "probe", "point", "hover", "switch", "cancel"])
        if action == "scrub":
            window.timeline.set_frame(rng.randrange(window.timeline.frame_count))
        elif action == "probe":
            x, y = (rng.uniform(a, b) for a, b in zip(low, high, strict=True))
            window.latent_map.probe.setPos(QPointF(x, y))
            window.latent_map.probeReleased.emit(x, y)
        elif action == "point":
            index = rng.randrange(len(embedding))
            x, y = window.latent_map.point_position(index)
            window.latent_map.pointDragged.emit(index, x + 0.1, y - 0.1)
        elif action == "hover":
            window.worker.request_thumbnail(rng.randrange(len(embedding)))
        elif action == "switch":
            bar.request("pca" if window.state.projection_kind == "umap" else "umap")
            embedding = window.state.projection.embedding
            low, high = embedding.min(axis=0), embedding.max(axis=0)
        elif action == "cancel":
            window.worker.cancel()  # nothing long runs: the worker must shrug it off
        if step % 10 == 0:
            qtbot.wait(5)
    qtbot.wait(300)


def test_random_walk_keeps_memory_bounded(qtbot):
    window = ready_window(qtbot)
    choose_projection(window, qtbot, "umap")  # the first UMAP fit; later switches reuse it
    rng = random.Random(7)
    walk(window, qtbot, rng, 300)  # warm up caches and allocators
    gc.collect()
    before = rss_mb()
    walk(window, qtbot, rng, 1500)
    gc.collect()
    growth = rss_mb() - before
    assert growth < 40, f"memory grew by {growth:.0f} MB over 1,500 random actions"
    assert len(window.state.history) <= 1500
    assert window.cursor_view.frame is not None and np.isfinite(window.state.probe).all()
