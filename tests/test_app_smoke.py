"""The app opens on the bundled demo, offscreen, and answers the keyboard."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui_helpers import ready_window

DEMO_FRAMES = 240


@pytest.fixture
def window(qtbot):
    return ready_window(qtbot)


def test_demo_opens_with_trajectory_and_frame_views(window):
    assert window.latent_map.point_count == DEMO_FRAMES
    assert window.timeline.frame_count == DEMO_FRAMES
    assert window.original_view.frame.shape == (256, 256, 3)
    assert window.reconstruction_view.frame.shape == (64, 64, 3)
    assert window.device_label.text() == "CPU"


def test_right_key_steps_to_the_next_frame(window, qtbot):
    first = window.original_view.frame
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.timeline.frame == 1
    qtbot.waitUntil(lambda: window.original_view.frame is not first, timeout=10_000)
    assert not np.array_equal(window.original_view.frame, first)
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.timeline.frame == DEMO_FRAMES - 1


def test_screenshot_switch_writes_a_png(tmp_path, run_cli):
    shot = tmp_path / "window.png"
    result = run_cli("--screenshot", shot, timeout=240, env=_offscreen_env())
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _offscreen_env() -> dict:
    import os

    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
