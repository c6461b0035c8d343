"""Reading the latent space in the window, driven like a user: the Traverse tab's sliders
move the probe and decode it, a saved traversal grid, a direction from two lassoed groups
moving the probe and the keyframe path, and the map and its table exported."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from tests.gui_helpers import drag_through, ready_window


@pytest.fixture
def window(qtbot):
    return ready_window(qtbot)


def test_a_slider_moves_the_probe_along_its_axis_and_the_cursor_decodes_it(window, qtbot):
    panel = window.traversal
    window.side_tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: bool(panel.sliders), timeout=10_000)
    axes = panel.axes
    assert len(panel.sliders) == len(axes.number)
    assert list(axes.importance[~axes.dead]) == sorted(axes.importance[~axes.dead],
                                                       reverse=True), "most used first"
    frame_latent = window.state.trajectory.mu[window.state.frame]
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None, timeout=30_000)
    before = window.cursor_view.frame.copy()
    slider = panel.sliders[0]
    slider.setFocus()
    for _ in range(15):
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    probe = window.state.probe
    moved = np.flatnonzero(~np.isclose(probe, frame_latent, atol=1e-6))
    assert list(moved) == [int(axes.number[0])], "only the slider's dimension moved"
    assert np.isclose(axes.deviations(probe[None], 0)[0], slider.value() / 10, atol=1e-4)
    qtbot.waitUntil(lambda: not np.array_equal(window.cursor_view.frame, before),
                    timeout=30_000)
    x, y = window.latent_map.probe.pos().x(), window.latent_map.probe.pos().y()
    np.testing.assert_allclose((x, y), window.state.projection.project_new(probe[None])[0],
                               atol=1e-4)


def test_save_traversal_writes_the_grid(window, qtbot, tmp_path):
    panel = window.traversal
    window.side_tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: bool(panel.sliders), timeout=10_000)
    panel.steps.setValue(5)
    output = tmp_path / "grid.png"
    with qtbot.waitSignal(window.worker.clipExported, timeout=120_000):
        panel.request(str(output))
    image = cv2.imread(str(output))
    tile = window.state.trajectory.meta["frame_size"]  # the demo model's 64 × 64
    assert image.shape[:2] == (len(panel.sliders) * tile[0], 5 * tile[1])


def lasso(window, rows: np.ndarray) -> None:
    """Ctrl+drag a lasso round the points of ``rows`` (a tight box round them)."""
    latent_map = window.latent_map
    points = window.state.projection.embedding[rows]
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) * 0.02 + 1e-3
    corners = [(low[0] - pad[0], low[1] - pad[1]), (high[0] + pad[0], low[1] - pad[1]),
               (high[0] + pad[0], high[1] + pad[1]), (low[0] - pad[0], high[1] + pad[1])]
    pixels = [latent_map.to_scene(x, y) for x, y in corners]
    drag_through(latent_map.viewport(), pixels, modifiers=Qt.KeyboardModifier.ControlModifier)


def test_two_lassoed_groups_make_a_direction_that_moves_the_probe_and_the_path(window,
                                                                               qtbot):
    state, panel = window.state, window.directions
    window.side_tabs.setCurrentWidget(panel)
    embedding = state.projection.embedding
    group_a = np.flatnonzero(embedding[:, 0] < np.quantile(embedding[:, 0], 0.2))
    lasso(window, group_a)
    assert len(state.selection) > 0 and window.latent_map.selection_drawn == \
        len(state.selection)
    assert set(group_a) <= set(state.selection), "every point inside the lasso"
    panel.set_a.click()
    group_b = np.flatnonzero(embedding[:, 0] > np.quantile(embedding[:, 0], 0.8))
    lasso(window, group_b)
    assert set(group_b) <= set(state.selection)
    panel.set_b.click()
    assert "B − A" in state.directions
    mu = state.trajectory.mu
    expected = mu[list(panel._groups["B"])].mean(axis=0) - \
        mu[list(panel._groups["A"])].mean(axis=0)
    np.testing.assert_allclose(state.directions["B − A"], expected, atol=1e-5)
    panel.range_from.setValue(100)
    panel.range_to.setValue(120)
    next(button for button in panel.findChildren(QPushButton)
         if button.text() == "Select Range").click()
    assert state.selection == tuple(range(100, 121)), "a range of frames selects too"

    panel.target.setCurrentIndex(panel.target.findData("frame"))
    panel.amount.setValue(10)  # one whole direction
    np.testing.assert_allclose(state.probe, mu[state.frame] + expected, atol=1e-5)

    for frame in (0, 120):
        window.timeline.set_frame(frame)
        qtbot.keyClick(window, Qt.Key.Key_K)
    path = state.clip_path.latents.copy()
    panel.target.setCurrentIndex(panel.target.findData("path"))
    panel.amount.setValue(-5)
    panel.amount.sliderReleased.emit()
    np.testing.assert_allclose(state.clip_path.latents, path - 0.5 * expected, atol=1e-5)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(state.clip_path.latents, path, atol=1e-6)


def test_the_map_and_its_table_are_exported(window, qtbot, tmp_path, monkeypatch):
    from explorer.ui import map_export

    for name in ("map.png", "map.svg", "table.csv"):
        monkeypatch.setattr(map_export.QFileDialog, "getSaveFileName",
                            lambda *_a, n=name: (str(tmp_path / n), ""))
        (window.export_table if name.endswith(".csv") else window.export_map)()
    image = cv2.imread(str(tmp_path / "map.png"))
    assert image.shape[1] > 800 and image.std() > 10
    assert (tmp_path / "map.svg").read_text().lstrip().startswith("<?xml")
    with open(tmp_path / "table.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(window.state.trajectory)
    assert float(rows[5]["x"]) == pytest.approx(float(window.state.projection.embedding[5, 0]),
                                                abs=1e-4)
    assert rows[5]["psnr_db"] != ""


def test_directions_a_moved_path_and_named_scenes_come_back_with_the_session(window, qtbot,
                                                                            tmp_path):
    from tests.gui_helpers import READY_MS, open_window

    state = window.state
    window.analysis.find_scenes()
    qtbot.waitUntil(lambda: state.findings.scenes is not None, timeout=60_000)
    state.rename_scene(0, "Opening")
    state.add_direction("PC-ish", np.ones(state.trajectory.mu.shape[1], np.float32))
    for frame in (0, 100):
        window.timeline.set_frame(frame)
        qtbot.keyClick(window, Qt.Key.Key_K)
    state.edit_clip(state.clip.with_shift(np.full(state.trajectory.mu.shape[1], 0.25,
                                                  np.float32)), "Move path")
    window.sessions.path = tmp_path / "read.lxsession"
    assert window.sessions.save()
    again = open_window(qtbot, session=tmp_path / "read.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    restored = again.state
    assert restored.findings.scene_names[0] == "Opening"
    assert again.analysis.scenes.item(0).text() == "Opening"
    assert "PC-ish" in restored.directions
    assert again.directions.choice.findText("PC-ish") >= 0
    np.testing.assert_allclose(restored.clip_path.latents, state.clip_path.latents, atol=1e-6)
