"""The window's state bugs of issue 15, each driven through the real widgets."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog

from explorer.paths import demo_model_path, demo_video_path
from explorer.session.document import load_session
from explorer.ui.export_dialog import ExportDialog
from tests.gui_helpers import (
    READY_MS,
    choose,
    choose_projection,
    click,
    drag,
    open_window,
    ready_window,
)


def answer_file_dialogs(monkeypatch, path: Path) -> None:
    """Every Open/Save file dialog answers ``path`` (as if the user picked it)."""
    answer = staticmethod(lambda *_args, **_kw: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", answer)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)


def looks(window) -> dict:
    """What the user sees, to compare before and after."""
    return {
        "title": window.windowTitle(),
        "original": window.original_view.frame,
        "reconstruction": window.reconstruction_view.frame,
        "captions": (window.original_view.caption, window.reconstruction_view.caption),
        "trajectory": window.state.trajectory,
        "points": window.latent_map.point_count,
        "recent": window.recent.entries(),
        "frames": window.timeline.frame_count,
    }


def test_a_file_that_fails_to_open_leaves_the_window_exactly_as_it_was(
        qtbot, tmp_path, monkeypatch):
    window = ready_window(qtbot)
    window.recent.clear()
    window.recent.add("video", window.video)
    recipe = tmp_path / "take.clip.json"
    recipe.write_text('{"clip": "take.mp4", "frames": 2}')
    before = looks(window)
    answer_file_dialogs(monkeypatch, recipe)
    with qtbot.waitSignal(window.worker.jobFinished, timeout=READY_MS) as finished:
        qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert finished.args == ["failed"]
    qtbot.wait(100)
    after = looks(window)
    assert after["title"] == before["title"] and "take" not in after["title"]
    for name in ("original", "reconstruction", "trajectory"):
        assert after[name] is before[name], f"the {name} was replaced"
    assert after == before
    assert "loading" not in " ".join(after["captions"])
    assert take_not_in(window.recent.entries(), recipe)
    assert not window._progress.isVisible()
    window.timeline.set_frame(30)  # still usable
    qtbot.waitUntil(lambda: window.original_view.caption == "frame 30", timeout=10_000)


def take_not_in(entries, path: Path) -> bool:
    return all(Path(entry.path).name != path.name for entry in entries)


def test_a_failed_start_from_the_command_line_is_not_remembered(qtbot, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    window = open_window(qtbot, video=bad)
    window.recent.clear()
    with qtbot.waitSignal(window.worker.failed, timeout=READY_MS):
        window.start()
    qtbot.wait(100)
    assert window.recent.entries() == [] and not window.recent.menu.isEnabled()
    assert window.windowTitle() == "Latent Explorer"


def test_recent_files_list_each_file_once_and_sessions_too(qtbot, tmp_path, monkeypatch):
    window = ready_window(qtbot)
    entries = window.recent.entries()
    assert [entry.kind for entry in entries[:2]] == ["model", "video"]
    spelled_otherwise = demo_model_path().parent / ".." / demo_model_path().parent.name
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.open_files(window.video, spelled_otherwise / demo_model_path().name)
    models = [entry for entry in window.recent.entries() if entry.kind == "model"]
    assert len(models) == len({Path(entry.path) for entry in models})
    assert Path(models[0].path) == demo_model_path().resolve()
    session = tmp_path / "work.lxsession"
    answer_file_dialogs(monkeypatch, session)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert window.recent.entries()[0] == ("session", session.resolve())
    labels = [action.text() for action in window.recent.menu.actions()]
    assert any("work.lxsession" in label for label in labels)


def test_each_layout_keeps_its_own_view_and_a_cancelled_fit_changes_nothing(qtbot):
    window = ready_window(qtbot)
    bar, plot = window.projection_bar, window.latent_map
    pca_view = np.array(plot.viewRange())
    choose(bar.choice, qtbot, "umap")
    assert bar.fitting
    click(bar._cancel, bar._cancel.rect().center())
    assert not bar.fitting and bar.choice.currentData() == "pca"
    assert window.state.projection_kind == "pca"
    choose(bar.choice, qtbot, "umap")  # choosing UMAP again starts it again
    assert bar.fitting and bar._progress.format().startswith("UMAP")
    qtbot.waitUntil(lambda: window.state.projection_kind == "umap", timeout=180_000)
    assert window._activity.text().startswith("UMAP layout ready")
    umap_view = np.array(plot.viewRange())
    umap_points = window.state.projection.embedding
    inside = ((umap_points >= umap_view[:, 0]) & (umap_points <= umap_view[:, 1])).all()
    assert inside, "the UMAP layout is fitted in view"
    choose(bar.choice, qtbot, "pca")
    np.testing.assert_allclose(plot.viewRange(), pca_view, rtol=1e-6)
    choose(bar.choice, qtbot, "umap")
    np.testing.assert_allclose(plot.viewRange(), umap_view, rtol=1e-6)


def test_the_cursor_caption_follows_what_the_cursor_view_shows(qtbot):
    window = ready_window(qtbot)
    qtbot.waitUntil(lambda: window.cursor_view.frame is not None, timeout=10_000)
    for frame in (0, 120):
        window.timeline.set_frame(frame)
        qtbot.keyClick(window, Qt.Key.Key_K)
    target = window.latent_map.point_position(60)
    probe = window.latent_map.probe.pos()
    start = window.latent_map.to_scene(probe.x(), probe.y())
    drag(window.latent_map.viewport(), start, window.latent_map.to_scene(*target))
    probe_image = window.worker._vae.decode(window.state.probe.reshape(1, -1))[0]
    qtbot.waitUntil(lambda: np.array_equal(window.cursor_view.frame, probe_image),
                    timeout=10_000)

    panel = window.interpolation
    panel.fps.setValue(60.0)  # a quick preview
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "clip preview" in window.cursor_view.caption, timeout=10_000)
    with qtbot.waitSignal(panel.previewFinished, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: window.cursor_view.caption.startswith("decoded at"),
                    timeout=10_000)
    qtbot.waitUntil(lambda: np.array_equal(window.cursor_view.frame, probe_image),
                    timeout=10_000)
    x, y = window.latent_map.probe.pos().x(), window.latent_map.probe.pos().y()
    assert window.cursor_view.caption == f"decoded at ({x:.2f}, {y:.2f})"

    choose_projection(window, qtbot, "umap")
    qtbot.waitUntil(lambda: window.cursor_view.caption != f"decoded at ({x:.2f}, {y:.2f})",
                    timeout=10_000)
    moved = window.latent_map.probe.pos()
    assert window.cursor_view.caption == f"decoded at ({moved.x():.2f}, {moved.y():.2f})"


def test_a_reopened_session_puts_the_probe_back_where_it_was(qtbot, tmp_path):
    window = ready_window(qtbot)
    target = window.latent_map.point_position(150)
    probe = window.latent_map.probe.pos()
    drag(window.latent_map.viewport(), window.latent_map.to_scene(probe.x(), probe.y()),
         window.latent_map.to_scene(target[0] + 0.3, target[1] - 0.2))
    window.timeline.set_frame(20)
    saved_probe = window.state.probe.copy()
    window.sessions.path = tmp_path / "probe.lxsession"
    assert window.sessions.save()

    again = open_window(qtbot, session=tmp_path / "probe.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    qtbot.wait(200)
    np.testing.assert_allclose(again.state.probe, saved_probe)
    assert not np.allclose(again.state.probe, again.state.trajectory.mu[20])
    x, y = again.state.projection.project_new(saved_probe[None])[0]
    marker = again.latent_map.probe.pos()
    assert abs(marker.x() - x) < 1e-4 and abs(marker.y() - y) < 1e-4


def test_the_device_menu_offers_only_what_the_machine_has_and_agrees_after_a_failure(qtbot):
    from explorer.model.devices import available_devices

    window = ready_window(qtbot)
    menu = window.device_menu
    have = set(available_devices())
    for device in ("cuda", "mps"):
        assert menu.action_for(device).isEnabled() == (device in have)
    if "cuda" in have:
        pytest.skip("this machine has CUDA: the failure below cannot be provoked")
    label = window.device_label.text()
    stale = menu.action_for("cuda")
    stale.setEnabled(True)  # as if the menu had been told wrong: the worker has the last word
    changes: list[str] = []
    failures: list[str] = []
    window.worker.deviceChanged.connect(changes.append)
    window.worker.failed.connect(failures.append)
    stale.trigger()
    qtbot.waitUntil(lambda: changes == ["auto"] and menu.current == "auto", timeout=10_000)
    assert len(failures) == 1 and "CUDA" in failures[0] and "--device" not in failures[0]
    assert window.device_label.text() == label
    menu.action_for("cpu").trigger()
    qtbot.waitUntil(lambda: menu.current == "cpu" and window.device_label.text() == "CPU",
                    timeout=10_000)


def fill_export_dialog(output: str, format_data: str, size: int) -> None:
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, ExportDialog)
    dialog.format.setCurrentIndex(dialog.format.findData(format_data))
    dialog.output.setText(output)
    dialog.size.setValue(size)
    dialog.ping_pong.setChecked(True)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()


def export_through_the_dialog(window, qtbot, frames, output: Path, fmt: str, size: int) -> None:
    """Mark ``frames`` with K, then Ctrl+E and fill the dialog: a half-second clip."""
    from PySide6.QtCore import QTimer

    for frame in frames:
        window.timeline.set_frame(frame)
        qtbot.keyClick(window, Qt.Key.Key_K)
    window.interpolation.seconds.setValue(0.5)
    QTimer.singleShot(0, lambda: fill_export_dialog(str(output), fmt, size))
    with qtbot.waitSignal(window.worker.clipExported, timeout=READY_MS):
        qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)


def test_export_settings_are_remembered_in_sessions(qtbot, tmp_path):
    from PySide6.QtCore import QTimer

    window = ready_window(qtbot)
    export_through_the_dialog(window, qtbot, (0, 60), tmp_path / "loop.gif", "gif", 96)
    window.sessions.path = tmp_path / "export.lxsession"
    assert window.sessions.save()
    saved = load_session(tmp_path / "export.lxsession").export
    assert (saved.format, saved.size, saved.ping_pong) == ("gif", 96, True)

    again = open_window(qtbot, session=tmp_path / "export.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    seen = {}

    def inspect_and_cancel() -> None:
        dialog = QApplication.activeModalWidget()
        seen.update(format=dialog.format.currentData(), size=dialog.size.value(),
                    ping_pong=dialog.ping_pong.isChecked())
        dialog.reject()

    QTimer.singleShot(0, inspect_and_cancel)
    qtbot.keyClick(again, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert seen == {"format": "gif", "size": 96, "ping_pong": True}


def test_the_clip_recipe_says_how_the_clip_was_made(qtbot, tmp_path):
    from explorer.pipeline.recipe import load_recipe

    window = ready_window(qtbot)
    output = tmp_path / "clip.mp4"
    export_through_the_dialog(window, qtbot, (0, 30, 90), output, "mp4", 64)
    recipe = load_recipe(Path(f"{output}.clip.json"))
    assert recipe.keyframes == [{"frame": 0}, {"frame": 30}, {"frame": 90}]
    settings = recipe.settings
    assert settings["fps"] == 24.0 and settings["size"] == 64 and settings["method"] == "slerp"
    assert settings["model_identity"] == window.state.trajectory.meta["model"]["sha256"]
    assert settings["video"] == str(demo_video_path().resolve())
    assert "keyframes" not in settings, "keyframes are listed once"
    assert len(recipe.latents) == 12


def test_a_moved_session_video_in_a_screenshot_window_fails_in_one_place(qtbot, tmp_path):
    """A session whose video is gone, opened without anyone to ask: the window reports it
    and stays empty, recording nothing."""
    video = tmp_path / "gone.mp4"
    shutil.copy(demo_video_path(), video)
    window = ready_window(qtbot, video=video)
    window.sessions.path = tmp_path / "gone.lxsession"
    assert window.sessions.save()
    window.close()
    video.unlink()
    again = open_window(qtbot, session=tmp_path / "gone.lxsession")
    again.recent.clear()
    assert not again.sessions.open(tmp_path / "gone.lxsession")
    assert "was not found" in again._activity.text()
    assert again.sessions.path is None and again.recent.entries() == []
