"""Sessions in the window: save and reopen, undo/redo, autosave recovery, unsaved changes."""

import shutil
import zipfile

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from explorer.paths import demo_video_path
from explorer.session.autosave import AutosaveStore
from explorer.session.document import load_session
from tests.gui_helpers import READY_MS, answer_next_dialog, drag, open_window, ready_window

Button = QMessageBox.StandardButton


def add_keyframes(window, qtbot, frames) -> None:
    for frame in frames:
        window.timeline.set_frame(frame)
        qtbot.keyClick(window, Qt.Key.Key_K)


def test_save_and_reopen_restores_the_work(qtbot, tmp_path):
    window = ready_window(qtbot)
    add_keyframes(window, qtbot, (10, 120, 200))
    window.interpolation.method.setCurrentIndex(window.interpolation.method.findData("spline"))
    window.timeline.set_frame(77)
    assert window.windowTitle().startswith("demo.mp4*")
    window.sessions.path = tmp_path / "work.lxsession"
    assert window.sessions.save()
    assert window.windowTitle().startswith("work.lxsession —")
    saved = load_session(tmp_path / "work.lxsession")
    assert [k.frame for k in saved.keyframes] == [10, 120, 200]

    again = open_window(qtbot, session=tmp_path / "work.lxsession")
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    qtbot.waitUntil(lambda: again.interpolation.path is not None, timeout=10_000)
    assert [k.frame for k in again.interpolation.keyframes] == [10, 120, 200]
    assert again.interpolation.method.currentData() == "spline"
    assert again.timeline.frame == 77
    np.testing.assert_array_equal(again.state.trajectory.mu, window.state.trajectory.mu)
    assert again.windowTitle().startswith("work.lxsession —"), "nothing unsaved yet"
    np.testing.assert_allclose(again.interpolation.path.latents, window.interpolation.path
                               .latents, atol=1e-6)


def test_undo_and_redo_keyframe_and_probe_edits(qtbot):
    window = ready_window(qtbot)
    add_keyframes(window, qtbot, (0, 50, 100))
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [k.frame for k in window.interpolation.keyframes] == [0, 50]
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [k.frame for k in window.interpolation.keyframes] == [0]
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Z, redo)
    assert [k.frame for k in window.interpolation.keyframes] == [0, 50]

    before = window.state.probe.copy()
    probe = window.latent_map.probe.pos()
    target = window.latent_map.point_position(150)
    drag(window.latent_map.viewport(), window.latent_map.to_scene(probe.x(), probe.y()),
         window.latent_map.to_scene(*target))
    assert not np.allclose(window.state.probe, before)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(window.state.probe, before)
    assert [k.frame for k in window.interpolation.keyframes] == [0, 50], "probe undone first"


def test_autosave_is_offered_back_after_a_crash(qtbot, tmp_path):
    window = ready_window(qtbot)
    add_keyframes(window, qtbot, (5, 95))
    window.sessions.wait_for_autosave()
    autosave = window.sessions.autosave_store.path
    assert [k.frame for k in load_session(autosave).keyframes] == [5, 95]
    with zipfile.ZipFile(autosave) as archive:  # stored: quick to write every minute
        assert archive.getinfo("arrays.npz").compress_type == zipfile.ZIP_STORED
    crashed = AutosaveStore(autosave.parent, pid=2**22 + 4242).path  # a process now gone
    shutil.copy(autosave, crashed)
    window.close()
    assert not autosave.exists(), "a normal close forgets its autosave"

    seen: list[str] = []
    restored = open_window(qtbot, interactive=True, recover=True)
    answer_next_dialog(Button.Yes, seen)
    with qtbot.waitSignal(restored.ready, timeout=READY_MS):
        restored.start()
    qtbot.waitUntil(lambda: len(restored.interpolation.keyframes) == 2, timeout=10_000)
    assert "did not close normally" in seen[0] and "demo.mp4" in seen[0]
    assert [k.frame for k in restored.interpolation.keyframes] == [5, 95]
    assert "*" in restored.windowTitle(), "a recovered session is not saved anywhere yet"
    assert not crashed.exists()
    restored.sessions.mark_saved()


def test_quitting_with_unsaved_changes_asks(qtbot):
    window = ready_window(qtbot, interactive=True)
    add_keyframes(window, qtbot, (0,))
    seen: list[str] = []
    answer_next_dialog(Button.Cancel, seen)
    window.close()
    assert window.isVisible() and "unsaved changes" in seen[0]
    answer_next_dialog(Button.Discard)
    window.close()
    assert not window.isVisible()


def test_a_session_whose_video_moved_asks_where_it_went(qtbot, tmp_path, monkeypatch):
    video = tmp_path / "clip.mp4"
    shutil.copy(demo_video_path(), video)
    window = ready_window(qtbot, video=video)
    add_keyframes(window, qtbot, (3, 30))
    window.sessions.path = tmp_path / "moved.lxsession"
    assert window.sessions.save()
    window.close()
    moved = tmp_path / "elsewhere" / "clip.mp4"
    moved.parent.mkdir()
    video.rename(moved)

    again = open_window(qtbot, session=tmp_path / "moved.lxsession")
    asked = []
    monkeypatch.setattr(again.sessions, "locate", lambda what, path: asked.append(what) or moved)
    with qtbot.waitSignal(again.ready, timeout=READY_MS):
        again.start()
    assert asked == ["video"] and again.video == moved
    qtbot.waitUntil(lambda: len(again.interpolation.keyframes) == 2, timeout=10_000)
    assert "restored" in again._activity.text(), "the saved latents were reused"


@pytest.mark.parametrize("content", ["garbage", "future"])
def test_a_bad_session_gets_a_dialog_and_the_window_stays_usable(qtbot, tmp_path, content):
    import json
    import zipfile

    bad = tmp_path / "bad.lxsession"
    if content == "garbage":
        bad.write_text("not a session")
    else:
        with zipfile.ZipFile(bad, "w") as archive:
            archive.writestr("session.json", json.dumps(
                {"format": "latent-explorer/session", "version": 7}))
    window = open_window(qtbot, interactive=True, session=bad)
    seen: list[str] = []
    answer_next_dialog(Button.Ok, seen)
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()  # the error is shown, then the demo opens
    assert ("not a zip" if content == "garbage" else "newer Latent Explorer") in seen[0]


def test_cli_refuses_a_bad_session_with_one_line(tmp_path, run_cli):
    bad = tmp_path / "bad.lxsession"
    bad.write_text("nope")
    result = run_cli("--session", bad, "--screenshot", tmp_path / "shot.png")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"explorer: error: {bad} is not a Latent Explorer session (not a zip archive)"
    ]


def test_opening_another_video_starts_a_clean_document(qtbot, tmp_path):
    window = ready_window(qtbot)
    add_keyframes(window, qtbot, (0, 40))
    clip = tmp_path / "other.mp4"
    shutil.copy(demo_video_path(), clip)
    window.sessions.mark_saved()
    with qtbot.waitSignal(window.worker.trajectoryReady, timeout=READY_MS):
        window._replace(clip, window.model)
    assert window.interpolation.keyframes == []
    assert not window.state.history.can_undo and not window.sessions.dirty


def test_a_burst_of_edits_is_autosaved_once_with_the_newest(qtbot, monkeypatch):
    import time

    from explorer.ui import session_controller

    window = ready_window(qtbot)
    written: list[int] = []

    def slow_save(session, path, compress=True):
        time.sleep(0.2)
        written.append(len(session.keyframes))
        return path

    monkeypatch.setattr(session_controller, "save_session", slow_save)
    add_keyframes(window, qtbot, range(0, 100, 10))  # ten edits, each asks for an autosave
    window.sessions.wait_for_autosave()
    qtbot.waitUntil(lambda: not window.sessions._autosave_running, timeout=10_000)
    assert written[-1] == 10, "the newest session is the one left on disk"
    assert len(written) < 10, "edits made during a write were not each written"
