"""A video autoencoder (one latent step for several frames) in the window, driven like a
user: scrub frames inside a step, drag a step, mark keyframes, preview and export."""

import av
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer

from explorer.demo import demo_frames
from explorer.model.open import open_model
from explorer.pipeline.decode import decode_after, decode_row
from tests.conftest import write_mjpg
from tests.gui_helpers import READY_MS, drag, open_window
from tests.test_studio import fill_export_dialog


@pytest.fixture
def window(qtbot, tmp_path, wan_folder):
    clip = write_mjpg(tmp_path / "clip.avi", demo_frames(17, 32))
    window = open_window(qtbot, video=clip, model=wan_folder)
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()
    return window


def shown(window, qtbot, caption: str) -> None:
    qtbot.waitUntil(lambda: window.original_view.caption == caption, timeout=30_000)


def test_the_timeline_scrubs_frames_and_shades_the_step_covering_them(window, qtbot,
                                                                      wan_folder):
    trajectory = window.state.trajectory
    assert trajectory.is_temporal and len(trajectory) == 5
    assert trajectory.frame_index.tolist() == [0, 1, 5, 9, 13]
    assert window.latent_map.point_count == 5
    assert window.timeline.frame_count == 5 and window.timeline.position_count == 17
    assert window.frames_label.text() == "5 latent steps"

    window.timeline.set_frame(3)  # the step covering frames 9–12
    shown(window, qtbot, "frame 9  ·  step 3")
    assert window.timeline._label.text().startswith("frame 9 / 16  ·  step 3 / 4 (frames 9–12)")
    region = window.timeline.error_curve.step_region
    assert region.isVisible() and region.getRegion() == (8.5, 12.5)

    qtbot.keyClick(window, Qt.Key.Key_Right)  # one video frame on: the same step
    shown(window, qtbot, "frame 10  ·  step 3")
    assert (window.state.frame, window.state.within) == (3, 1)
    wan = open_model(wan_folder, device="cpu")
    np.testing.assert_array_equal(window.reconstruction_view.frame,
                                  decode_row(wan, trajectory, 3)[1])
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    shown(window, qtbot, "frame 13  ·  step 4")  # the last step covers 13–16
    assert window.state.frame == 4 and region.getRegion() == (12.5, 16.5)
    qtbot.keyClick(window, Qt.Key.Key_End)
    shown(window, qtbot, "frame 16  ·  step 4")
    assert window.latent_map.marker_position() == window.latent_map.point_position(4)


def test_a_dragged_step_plays_its_frames_as_a_loop(window, qtbot, wan_folder):
    trajectory = window.state.trajectory
    cursor = window.cursor_view
    qtbot.waitUntil(lambda: cursor.frame is not None, timeout=30_000)  # the probe at rest
    start = QPointF(window.latent_map.to_scene(*window.latent_map.point_position(2)))
    drag(window.latent_map.viewport(), start, start + QPointF(30, 12))
    qtbot.waitUntil(lambda: cursor.looping, timeout=30_000)
    assert window.state.frame == 2, "the dragged step is the current one"
    assert len(cursor.loop) == 4 and "as step 2" in cursor.caption
    wan = open_model(wan_folder, device="cpu")
    probe = window.state.probe.reshape(1, *wan.latent_shape)
    expected = decode_after(wan, trajectory.latents(slice(1, 2)), probe)
    first = cursor.frame
    np.testing.assert_array_equal(first, expected[0])
    qtbot.waitUntil(lambda: cursor.frame is not first, timeout=5_000)  # it plays
    assert any(np.array_equal(cursor.frame, frame) for frame in expected[1:])


def test_keyframes_on_steps_interpolate_and_export_a_clip(window, qtbot, tmp_path):
    panel = window.interpolation
    for step in (0, 4):
        window.timeline.set_frame(step)
        qtbot.waitUntil(lambda s=step: window.state.frame == s, timeout=10_000)
        qtbot.keyClick(window, Qt.Key.Key_K)
    assert [k.frame for k in panel.keyframes] == [0, 13]
    interpolation = window.state.interpolation  # 2 s at 24 fps: 48 frames asked for
    assert interpolation.steps == 48
    assert len(panel.path.latents) == 13, "12 steps of 4 frames after the lone first"
    assert panel.steps_label.text() == "= 49 frames"
    assert "13 latent steps = 49 frames" in panel.message.text()

    previews = []
    window.worker.cursorReady.connect(lambda preview: previews.append(len(preview.frames)))
    with qtbot.waitSignal(panel.previewFinished, timeout=60_000):
        qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    assert previews and set(previews) <= {1, 4} and 4 in previews

    output = tmp_path / "steps.mp4"
    QTimer.singleShot(0, lambda: fill_export_dialog(str(output)))
    with qtbot.waitSignal(window.worker.clipExported, timeout=120_000):
        qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    with av.open(str(output)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 49 and frames[0].shape == (128, 128, 3)
    assert np.load(tmp_path / "steps.mp4.latents.npy").shape[0] == 13


def test_a_session_reopens_on_the_same_steps(window, qtbot, tmp_path):
    for step in (1, 3):
        window.timeline.set_frame(step)
        qtbot.waitUntil(lambda s=step: window.state.frame == s, timeout=10_000)
        qtbot.keyClick(window, Qt.Key.Key_K)
    window.timeline.set_frame(2, 3)  # frame 8, the last of step 2
    window.sessions.path = tmp_path / "steps.lxsession"
    assert window.sessions.save()

    again = open_window(qtbot, session=tmp_path / "steps.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    qtbot.waitUntil(lambda: again.interpolation.path is not None, timeout=30_000)
    assert [k.frame for k in again.interpolation.keyframes] == [1, 9]
    assert again.timeline.position_count == 17 and again.timeline.frame == 2
    np.testing.assert_array_equal(again.state.trajectory.last_frame,
                                  window.state.trajectory.last_frame)
    np.testing.assert_array_equal(again.interpolation.path.latents,
                                  window.interpolation.path.latents)
