"""The Analysis tab driven like a user: find a clip's scenes and its odd frames, see them
on the map's colours and the timeline, jump to them, and name a scene."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from tests.gui_helpers import choose, click, ready_window
from tests.test_analysis_cli import SPLICED, clips  # noqa: F401  (the clips fixture)


@pytest.fixture
def three_scenes(qtbot, clips):  # noqa: F811
    window = ready_window(qtbot, video=clips["three"])
    window.side_tabs.setCurrentWidget(window.analysis)
    return window


def test_scenes_are_found_listed_coloured_and_banded(qtbot, three_scenes):
    window, panel = three_scenes, three_scenes.analysis
    before = {tuple(colour) for colour in window.latent_map.detail.shown.colours()}
    click(panel.find_scenes_button, panel.find_scenes_button.rect().center())
    qtbot.waitUntil(lambda: window.state.findings.scenes is not None, timeout=60_000)
    assert [panel.scenes.item(row).text() for row in range(panel.scenes.count())] == \
        ["Scene 1", "Scene 2", "Scene 3"]
    starts = [first for first, _ in window.state.findings.scenes.spans()]
    assert all(abs(start - true) <= 2 for start, true in zip(starts, (0, 30, 60), strict=True))
    assert window.state.colouring == "segment"
    assert window.projection_bar.colouring.currentData() == "segment"
    after = {tuple(colour) for colour in window.latent_map.detail.shown.colours()}
    assert after != before and len(after) == 3, "a colour a scene"
    assert [label.text for _, label in window.latent_map.legend.items] == \
        ["Scene 1", "Scene 2", "Scene 3"]
    assert len(window.timeline.error_curve.bands) == 3

    item = panel.scenes.item(1)
    rect = panel.scenes.visualItemRect(item)
    click(panel.scenes.viewport(), rect.center())
    qtbot.waitUntil(lambda: window.state.frame == starts[1], timeout=10_000)
    panel.scenes.editItem(item)  # what a double-click opens
    editor = panel.scenes.findChild(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "Square")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the edit is committed on the next loop
    qtbot.waitUntil(lambda: window.state.findings.scene_names[1] == "Square", timeout=5_000)
    assert [label.text for _, label in window.latent_map.legend.items][1] == "Square"


def test_spliced_noise_frames_top_the_anomaly_list_and_are_marked(qtbot, clips):  # noqa: F811
    window = ready_window(qtbot, video=clips["spliced"])
    panel = window.analysis
    click(panel.score_button, panel.score_button.rect().center())
    qtbot.waitUntil(lambda: window.state.findings.anomalies is not None, timeout=60_000)
    top = [int(panel.anomalies.item(row).data(Qt.ItemDataRole.UserRole))
           for row in range(len(SPLICED))]
    assert sorted(top) == sorted(SPLICED)
    assert window.state.colouring == "anomaly" and window.latent_map._colour_bar.isVisible()
    marks = window.timeline.error_curve.marks.getData()[0]
    assert set(SPLICED) <= set(np.round(marks).astype(int))
    click(panel.anomalies.viewport(), panel.anomalies.visualItemRect(
        panel.anomalies.item(0)).center())
    qtbot.waitUntil(lambda: window.state.frame == top[0], timeout=10_000)
    choose(window.projection_bar.colouring, qtbot, "time")
    assert window.state.colouring == "time"
