"""The whole window on a 200,000-frame trajectory (an hour and a half at 24 fps is small
enough for CI time): it keeps answering while the trajectory opens, and the map's density
image is hovered, clicked, dragged from and switched between layouts like a small map."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, QPoint, QPointF, QTimer

from explorer.latent.projection import projection_from_state
from explorer.latent.synthetic import random_walk_trajectory
from tests.gui_helpers import READY_MS, drag, hover, open_window

FRAMES = 200_000
STALL_S = 2.0
"""A gap of the event loop this long is a freeze (100,000 points froze it 13.8 s before
the map drew with level of detail); shorter ones are a busy CI machine."""


@pytest.fixture(scope="module")
def long_trajectory(tmp_path_factory):
    """A 200,000-frame random walk in the demo model's 16-d latent space, whose video was
    never here."""
    walk = random_walk_trajectory(FRAMES, dim=16, seed=4)
    walk = walk.with_meta(video={"path": "/nowhere/long.mp4", "fps": 24.0})
    return walk.save(tmp_path_factory.mktemp("long") / "long.npz")


@pytest.fixture(scope="module")
def window_and_gaps(qapp, request, long_trajectory):
    """The window opened on the trajectory while a 10 ms timer measured its gaps."""
    from pytestqt.qtbot import QtBot

    qtbot = QtBot(request)  # one window for the module: opening it is what takes time
    window = open_window(qtbot, video=long_trajectory)
    clock, gaps = QElapsedTimer(), []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: (gaps.append(clock.restart() / 1000.0)))
    clock.start()
    timer.start()
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()
    latent_map = window.latent_map  # an empty map's index comes first: wait for this one's
    qtbot.waitUntil(lambda: latent_map.shown_count == FRAMES and latent_map.detail.index
                    is not None, timeout=60_000)
    timer.stop()
    yield window, qtbot, gaps
    window.close()


def pixel_of(window, row: int) -> QPoint:
    return window.latent_map.to_scene(*window.latent_map.point_position(row))


def test_the_window_keeps_answering_while_the_trajectory_opens(window_and_gaps):
    window, _, gaps = window_and_gaps
    assert window.latent_map.point_count == FRAMES
    assert window.latent_map.detail.showing_density
    assert len(gaps) > 10 and max(gaps) < STALL_S, f"the event loop stalled {max(gaps):.1f} s"
    assert window.timeline.frame_count == FRAMES


def test_hover_and_click_a_point_of_the_density_image(window_and_gaps):
    window, qtbot, _ = window_and_gaps
    row = 123_456
    hovered = []
    window.latent_map.frameHovered.connect(hovered.append)
    hover(window.latent_map.viewport(), pixel_of(window, row))
    qtbot.waitUntil(lambda: bool(hovered), timeout=10_000)
    x, y = window.latent_map.point_position(hovered[-1])
    near = window.latent_map.to_scene(x, y) - pixel_of(window, row)
    assert abs(near.x()) <= 6 and abs(near.y()) <= 6, "a point under the pointer"
    window.latent_map._click(*window.latent_map.point_position(row))
    qtbot.waitUntil(lambda: window.original_view.caption == f"frame {window.state.frame}"
                    and window.state.frame != 0, timeout=30_000)
    assert window.reconstruction_view.frame is not None


def test_drag_a_point_and_the_probe_on_the_density_image(window_and_gaps):
    window, qtbot, _ = window_and_gaps
    state, latent_map = window.state, window.latent_map
    row = 77_777
    start = pixel_of(window, row)
    before = None if state.probe is None else state.probe.copy()
    drag(latent_map.viewport(), start, start + QPoint(40, -30))
    assert state.probe is not None and (before is None or not np.array_equal(state.probe,
                                                                              before))
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None, timeout=30_000)
    dragged = state.probe.copy()

    probe = latent_map.to_scene(latent_map.probe.pos().x(), latent_map.probe.pos().y())
    drag(latent_map.viewport(), QPointF(probe), QPointF(probe + QPoint(-60, 20)))
    assert not np.array_equal(state.probe, dragged), "the probe moved"


def test_switch_layouts_on_the_density_image(window_and_gaps):
    window, qtbot, _ = window_and_gaps
    state = window.state
    pca = state.projection
    turned = pca.embedding @ np.array([[0.0, 1.0], [-1.0, 0.0]], np.float32) * 3.0
    umap = projection_from_state({"kind": "umap", "embedding": turned, "mean":
                                  np.zeros(16, np.float32), "axes": np.eye(16, dtype=np.float32),
                                  "seed": 0, "n_neighbors": 15, "min_dist": 0.1},
                                 state.trajectory.mu)  # a stand-in layout: no minute-long fit
    state.add_layout(umap)
    from tests.gui_helpers import choose_projection

    choose_projection(window, qtbot, "umap")
    latent_map = window.latent_map  # an empty map's index comes first: wait for this one's
    qtbot.waitUntil(lambda: latent_map.shown_count == FRAMES and latent_map.detail.index
                    is not None, timeout=60_000)
    assert window.latent_map.detail.showing_density
    np.testing.assert_array_equal(window.latent_map.point_position(10), turned[10])
    choose_projection(window, qtbot, "pca")
    np.testing.assert_array_equal(window.latent_map.point_position(10), pca.embedding[10])


def test_a_session_keeps_the_large_maps_fitted_view(window_and_gaps, tmp_path):
    """The view fitted to a large map's bounds (numpy numbers) is saved as plain ones."""
    from explorer.session.document import load_session

    window, _, _ = window_and_gaps
    window.latent_map.fit_view()
    (x0, x1), (y0, y1) = window.latent_map.viewRange()
    window.sessions.path = tmp_path / "large.lxsession"
    assert window.sessions.save() and not window.sessions.dirty
    saved = load_session(tmp_path / "large.lxsession")
    assert np.allclose(saved.view_range, [[x0, x1], [y0, y1]])
