"""The interpolation studio driven like a user: mark keyframes, preview, draw, export."""

import av
import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from explorer.ui.export_dialog import ExportDialog
from tests.gui_helpers import drag, ready_window


@pytest.fixture
def window(qtbot):
    return ready_window(qtbot)


def mark(window, qtbot, frame: int) -> None:
    window.timeline.set_frame(frame)
    qtbot.waitUntil(
        lambda: window.original_view._caption.text() == f"frame {frame}", timeout=10_000
    )
    qtbot.keyClick(window, Qt.Key.Key_K)


def fill_export_dialog(output: str) -> None:
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, ExportDialog)
    dialog.output.setText(output)
    dialog.size.setValue(128)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()


def test_mark_keyframes_preview_and_export(window, qtbot, tmp_path):
    panel = window.interpolation
    for frame in (0, 80, 160):
        mark(window, qtbot, frame)
    assert [k.frame for k in panel.keyframes] == [0, 80, 160]
    assert panel.list.item(0).icon().isNull() is False, "keyframes show a thumbnail"
    assert len(window.latent_map.keyframe_positions()) == 3
    assert len(window.latent_map.path_positions()) == panel.steps == 48

    panel.method.setCurrentIndex(panel.method.findData("spline"))
    np.testing.assert_allclose(
        window.latent_map.path_positions()[0], window.latent_map.point_position(0), atol=1e-4
    )

    shown = []
    window.worker.cursorReady.connect(lambda preview: shown.append(preview.image))
    with qtbot.waitSignal(panel.previewFinished, timeout=30_000):
        qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    assert len(shown) >= 5, "the preview played the path in the cursor view"

    output = tmp_path / "studio.mp4"
    QTimer.singleShot(0, lambda: fill_export_dialog(str(output)))
    with qtbot.waitSignal(window.worker.clipExported, timeout=60_000):
        qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    with av.open(str(output)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert container.streams.video[0].codec_context.name == "h264"
    assert len(frames) == 48 and frames[0].shape == (128, 128, 3)
    assert (tmp_path / "studio.mp4.latents.npy").exists()


def test_reordering_and_deleting_keyframes_rebuilds_the_path(window, qtbot):
    panel = window.interpolation
    for frame in (0, 100, 200):
        mark(window, qtbot, frame)
    first_path = panel.path.latents.copy()
    panel.list.setCurrentRow(1)
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert [k.frame for k in panel.keyframes] == [0, 200]
    assert not np.allclose(panel.path.latents, first_path)
    assert panel.list.model().moveRow(QModelIndex(), 1, QModelIndex(), 0)  # as a drag does
    assert [k.frame for k in panel.keyframes] == [200, 0]


def test_shift_drag_draws_a_path_that_becomes_the_clip(window, qtbot):
    viewport = window.latent_map.viewport()
    a = window.latent_map.to_scene(*window.latent_map.point_position(20))
    b = window.latent_map.to_scene(*window.latent_map.point_position(120))
    c = window.latent_map.to_scene(*window.latent_map.point_position(200))
    drag(viewport, a, c, steps=30, modifiers=Qt.KeyboardModifier.ShiftModifier, via=b)
    panel = window.interpolation
    assert panel.path is not None and len(panel.path.latents) == panel.steps
    assert "Drawn path" in panel.message.text()
    start = window.state.projection.inverse(np.array([window.latent_map.point_position(20)]))[0]
    assert np.linalg.norm(panel.path.latents[0] - start) < 0.5 * np.linalg.norm(start)


def test_map_context_menu_adds_frame_and_probe_keyframes(window):
    x, y = window.latent_map.point_position(42)
    menu = window.latent_map.build_context_menu(x, y)
    actions = {action.text(): action for action in menu.actions()}
    actions["Add this frame as a keyframe"].trigger()
    assert window.interpolation.keyframes[-1].frame == 42
    empty = window.state.projection.embedding.max(axis=0) + 0.5
    menu = window.latent_map.build_context_menu(float(empty[0]), float(empty[1]))
    assert "Add this frame as a keyframe" not in [a.text() for a in menu.actions()]
    next(a for a in menu.actions() if a.text() == "Add a keyframe here").trigger()
    probe = window.interpolation.keyframes[-1]
    assert probe.frame is None and probe.latent.shape == (16,)
    assert window.interpolation.path is not None
