"""Details of the window a daily user relies on (issue 21), driven through the widgets."""

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from explorer.paths import resources_dir
from explorer.state.settings import ExportChoices
from explorer.ui.export_dialog import ExportDialog
from tests.gui_helpers import drag, ready_window


@pytest.fixture
def window(qtbot):
    return ready_window(qtbot)


def mark(window, qtbot, frame: int) -> None:
    window.timeline.set_frame(frame)
    qtbot.keyClick(window, Qt.Key.Key_K)


def list_point(panel, row: int):
    return panel.list.visualItemRect(panel.list.item(row)).center()


def test_clicking_a_keyframe_in_the_list_goes_to_it(window, qtbot):
    panel = window.interpolation
    mark(window, qtbot, 40)
    mark(window, qtbot, 150)
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=list_point(panel, 0))
    assert window.timeline.frame == 40 and window.state.frame == 40
    qtbot.waitUntil(lambda: window.original_view.caption == "frame 40", timeout=10_000)

    x, y = window.latent_map.point_position(90)
    window.latent_map.probe.setPos(x + 0.4, y + 0.4)  # somewhere that is no frame
    window.latent_map.probeReleased.emit(x + 0.4, y + 0.4)
    qtbot.mouseClick(panel.add_probe_button, Qt.MouseButton.LeftButton)
    probe_latent = window.state.probe.copy()
    assert panel.list.item(2).text().startswith("probe latent at (")
    window.latent_map.probe.setPos(*window.latent_map.point_position(10))
    assert not np.allclose(window.state.probe, probe_latent)
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=list_point(panel, 2))
    np.testing.assert_allclose(window.state.probe, probe_latent)
    marker = window.latent_map.probe.pos()
    assert abs(marker.x() - (x + 0.4)) < 1e-3 and abs(marker.y() - (y + 0.4)) < 1e-3


def test_preview_moves_a_playhead_along_the_path_and_can_be_stopped(window, qtbot):
    panel = window.interpolation
    mark(window, qtbot, 0)
    mark(window, qtbot, 200)
    panel.seconds.setValue(10.0)  # long enough to stop it half way
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    assert panel.preview_button.text() == "Stop"
    qtbot.waitUntil(lambda: window.latent_map.playhead_position() is not None, timeout=5_000)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Preview: frame 5 of 240"),
                    timeout=10_000)
    playhead = np.array(window.latent_map.playhead_position())
    path = window.latent_map.path_positions()
    assert np.min(np.linalg.norm(path - playhead, axis=1)) < 1e-4, "the playhead is on the path"
    assert not np.allclose(playhead, path[0])
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    assert panel.preview_button.text() == "Preview"
    assert window.latent_map.playhead_position() is None
    assert panel.message.text() == "2 keyframes, 240 frames."
    qtbot.waitUntil(lambda: window.cursor_view.caption.startswith("decoded at"), timeout=10_000)


def test_a_keyframe_after_a_drawn_path_says_the_path_went_and_undo_brings_it_back(
        window, qtbot):
    viewport = window.latent_map.viewport()
    a = window.latent_map.to_scene(*window.latent_map.point_position(20))
    b = window.latent_map.to_scene(*window.latent_map.point_position(200))
    drag(viewport, a, b, steps=20, modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert window.state.clip.drawn is not None
    mark(window, qtbot, 30)
    assert window.state.clip.drawn is None
    assert "drawn path" in window._activity.text() and "Ctrl+Z" in window._activity.text()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.state.clip.drawn is not None


def test_status_messages_go_away_by_themselves(window, qtbot):
    window.show_message("Exported somewhere", seconds=0.05)
    assert window._activity.text() == "Exported somewhere"
    qtbot.waitUntil(lambda: window._activity.text() == "", timeout=5_000)


def test_the_title_names_the_session_and_the_video(window, tmp_path):
    window.sessions.path = tmp_path / "work.lxsession"
    assert window.sessions.save()
    assert window.windowTitle() == "work.lxsession — demo.mp4 — Latent Explorer"


def test_quality_applies_only_to_video_codecs(qtbot, tmp_path):
    dialog = ExportDialog(tmp_path / "clip", ExportChoices(format="gif"), 24.0)
    qtbot.addWidget(dialog)
    assert not dialog.quality.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData("webm"))
    assert dialog.quality.isEnabled() and dialog.output.text().endswith("clip.webm")
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    assert not dialog.quality.isEnabled()


def test_save_dialogs_never_start_inside_the_app_and_remember_the_folder(
        window, qtbot, tmp_path, monkeypatch):
    suggested: list[str] = []

    def save_dialog(_parent, _title, start, _filter=""):
        suggested.append(start)
        return str(tmp_path / "mine.lxsession"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    qtbot.keyClick(window, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not Path(suggested[0]).resolve().is_relative_to(resources_dir().resolve())
    window.sessions.path = None
    qtbot.keyClick(window, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert suggested[1] == str(tmp_path / "demo.lxsession"), "the folder saved in last time"

    mark(window, qtbot, 0)
    mark(window, qtbot, 60)
    seen = {}

    def inspect_and_cancel() -> None:
        dialog = QApplication.activeModalWidget()
        seen["output"] = dialog.output.text()
        dialog.reject()

    QTimer.singleShot(0, inspect_and_cancel)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert not Path(seen["output"]).resolve().is_relative_to(resources_dir().resolve())
    assert Path(seen["output"]).name == "demo_clip.mp4"


def test_the_error_curve_lines_up_with_the_slider(window, qtbot):
    timeline = window.timeline
    curve = timeline.error_curve
    qtbot.waitUntil(lambda: curve.isVisible(), timeout=5_000)
    qtbot.wait(50)  # the alignment follows the layout
    for frame in (0, 57, 180, timeline.frame_count - 1):
        x = timeline.handle_centre(frame).x() - curve.mapTo(timeline, curve.rect().topLeft()).x()
        point = curve.viewport().mapFrom(curve, curve.rect().center())
        point.setX(x - curve.viewport().mapTo(curve, curve.viewport().rect().topLeft()).x())
        qtbot.mouseClick(curve.viewport(), Qt.MouseButton.LeftButton, pos=point)
        assert timeline.frame == frame
    window.resize(1024, 640)
    qtbot.wait(100)
    x = timeline.handle_centre(120).x() - curve.mapTo(timeline, curve.rect().topLeft()).x()
    point = curve.rect().center()
    point.setX(x)
    qtbot.mouseClick(curve.viewport(), Qt.MouseButton.LeftButton,
                     pos=curve.viewport().mapFrom(curve, point))
    assert timeline.frame == 120
    labels = curve.time_axis.tickStrings([0, 120], 1, 1)
    assert labels == ["0.0 s", f"{window.state.trajectory.time_s[120]:.1f} s"]


def test_the_shortcuts_list_is_searchable_and_agrees_with_the_readme(window, qtbot):
    from explorer.ui.shortcuts_dialog import ShortcutsDialog
    from tests.conftest import PROJECT_ROOT

    dialog = ShortcutsDialog(window.actions(), window)
    qtbot.addWidget(dialog)
    rows = dialog.visible_rows()
    assert ("Add Current Frame as Keyframe", "K") in rows
    assert ("Export Clip", "Ctrl+E") in rows
    readme = (PROJECT_ROOT / "README.md").read_text()
    for text, keys in rows:
        for key in keys.split(", "):
            assert f"**{key}**" in readme, f"{text} ({key}) is missing from the README's table"
    dialog.search.setText("frame")
    shown = dialog.visible_rows()
    assert shown and all("frame" in text.lower() for text, _ in shown)
    assert len(shown) < len(rows)
    toolbar_tip = next(a for a in window.actions() if a.text() == "&Export Clip…").toolTip()
    assert toolbar_tip == "Export Clip (Ctrl+E)"


def test_a_frame_view_opens_at_full_size_and_zooms(window, qtbot):
    from explorer.ui.zoom_view import ZoomDialog

    view = window.reconstruction_view
    qtbot.waitUntil(lambda: view.frame is not None, timeout=10_000)
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton)
    dialogs = [w for w in QApplication.topLevelWidgets()
               if isinstance(w, ZoomDialog) and w.isVisible()]
    assert len(dialogs) == 1 and dialogs[0].zoom == 1.0
    zoom = dialogs[0]
    height, width = view.frame.shape[:2]
    assert zoom.windowTitle() == f"Reconstruction — {width} × {height} px"
    zoom.activateWindow()  # as the new window is for a user: its keys are its own
    qtbot.waitUntil(lambda: QApplication.activeWindow() is zoom, timeout=5_000)
    qtbot.keyClick(zoom.view, Qt.Key.Key_F)
    assert zoom.zoom != 1.0
    qtbot.keyClick(zoom.view, Qt.Key.Key_1)
    assert zoom.zoom == 1.0
    zoom.close()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_1)  # the Original, from the keyboard
    titles = [w.windowTitle() for w in QApplication.topLevelWidgets()
              if isinstance(w, ZoomDialog) and w.isVisible()]
    assert any(title.startswith("Original — ") for title in titles)


def test_the_original_outlines_what_the_model_sees(qtbot, tmp_path):
    from explorer.demo import demo_frames
    from tests.conftest import write_mjpg

    frames = np.stack(list(demo_frames(24, 64)))
    wide = np.concatenate([frames, frames], axis=2)  # 128 × 64: the model crops it
    clip = write_mjpg(tmp_path / "wide.avi", wide)
    window = ready_window(qtbot, video=clip)
    qtbot.waitUntil(lambda: window.original_view.outline is not None, timeout=10_000)
    box = window.original_view.outline
    assert (box.x(), box.y(), box.width(), box.height()) == (32, 0, 64, 64)


def test_a_model_that_does_not_know_the_footage_is_called_out(qtbot, tmp_path):
    from tests.conftest import write_mjpg

    noise = np.random.default_rng(3).integers(0, 256, (24, 64, 64, 3), dtype=np.uint8)
    window = ready_window(qtbot, video=write_mjpg(tmp_path / "noise.avi", noise))
    warning = window.model_panel.warning
    assert warning.isVisibleTo(window.model_panel)
    assert "trained on demo.mp4, not on this video" in warning.text()
    assert window._activity.text() == warning.text()


def test_open_video_range_encodes_the_chosen_frames(window, qtbot, monkeypatch):
    from explorer.paths import demo_video_path
    from explorer.ui.video_range_dialog import VideoRangeDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *_a, **_k: (str(demo_video_path()), "")))

    def choose_range() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, VideoRangeDialog)
        dialog.start.setValue(10)
        dialog.stride.setValue(3)
        dialog.max_frames.setValue(20)
        dialog.accept()

    shown = window.state.trajectory
    QTimer.singleShot(0, choose_range)
    qtbot.keyClick(window, Qt.Key.Key_O,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.state.trajectory is not None
                    and window.state.trajectory is not shown, timeout=120_000)
    assert window.state.trajectory.frame_index.tolist() == list(range(10, 70, 3))
    assert window.timeline.frame_count == 20


def test_aspect_lock_is_a_choice_kept_per_layout_and_the_probe_label_stays_inside(
        window, qtbot):
    from PySide6.QtCore import QPointF

    lock = next(a for a in window.actions() if a.text() == "Lock Map &Aspect Ratio")
    assert lock.isChecked() and window.latent_map.aspect_locked  # PCA: on by default
    lock.trigger()
    assert not window.latent_map.aspect_locked
    (x0, x1), (y0, y1) = window.latent_map.viewRange()
    window.latent_map.probe.setPos(QPointF(x1 - 0.02 * (x1 - x0), (y0 + y1) / 2))
    assert window.latent_map.probe_label_left, "near the right edge the label goes left"
    window.latent_map.probe.setPos(QPointF(x0 + 0.1 * (x1 - x0), (y0 + y1) / 2))
    assert not window.latent_map.probe_label_left


def test_plots_follow_the_desktop_into_dark_mode(window, qtbot):
    from PySide6.QtGui import QColor, QPalette

    dark = QPalette(window.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))
    original = QApplication.palette()
    try:
        QApplication.setPalette(dark)
        qtbot.waitUntil(lambda: window.latent_map.backgroundBrush().color().name() == "#1e1e1e",
                        timeout=5_000)
        assert window.timeline.error_curve.backgroundBrush().color().name() == "#1e1e1e"
        grids = [item for item in window.latent_map.items() if isinstance(item, pg.GridItem)]
        assert [grid.opts["pen"].color().name() for grid in grids] == ["#e6e6e6"]
    finally:
        QApplication.setPalette(original)
