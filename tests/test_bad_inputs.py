"""The bad-input matrix: every entry point, every kind of bad file.

Each bad input gets one clear line (CLI, exit 1) or a dialog (GUI), the app stays usable,
and no user file is modified or left half-written. See docs/bad-inputs.md for the table.
"""

from __future__ import annotations

import errno
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from explorer.demo import demo_frames
from explorer.paths import demo_model_path, demo_video_path
from explorer.ui.main_window import MainWindow
from tests.conftest import write_mjpg
from tests.gui_helpers import answer_next_dialog, ready_window

MODEL = demo_model_path()


def _zero_frames(path: Path) -> Path:
    """An AVI whose every frame chunk holds no image data."""
    write_mjpg(path, demo_frames(5, 32))
    data = bytearray(path.read_bytes())
    start = 0
    while (chunk := data.find(b"00dc", start)) >= 0:
        size = struct.unpack("<I", data[chunk + 4 : chunk + 8])[0]
        if 0 < size < len(data):
            data[chunk + 8 : chunk + 8 + size] = bytes(size)
        start = chunk + 8
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    made = {"missing": folder / "missing.mp4", "folder": folder / "a_folder.mp4"}
    made["folder"].mkdir()
    made["empty"] = folder / "empty.mp4"
    made["empty"].write_bytes(b"")
    made["text renamed .mp4"] = folder / "notes.mp4"
    made["text renamed .mp4"].write_text("meeting notes, not a video\n")
    whole = demo_video_path().read_bytes()
    made["truncated mp4"] = folder / "truncated.mp4"
    made["truncated mp4"].write_bytes(whole[: len(whole) // 2])
    made["zero decodable frames"] = _zero_frames(folder / "zero.avi")
    made["one frame"] = write_mjpg(folder / "one.avi", demo_frames(1, 48))
    eight_k = np.zeros((4320, 7680, 3), np.uint8)
    cv2.circle(eight_k, (3840, 2160), 1500, (255, 120, 0), -1)
    made["8K frames"] = write_mjpg(folder / "eight_k.avi", [eight_k, eight_k[::-1].copy()])
    made["truncated avi"] = folder / "truncated.avi"
    clip = write_mjpg(folder / "whole.avi", demo_frames(30, 48)).read_bytes()
    made["truncated avi"].write_bytes(clip[: int(len(clip) * 0.6)])
    return made


FAILING = ["missing", "folder", "empty", "text renamed .mp4", "zero decodable frames"]
WORKING = ["one frame", "8K frames", "truncated avi", "truncated mp4"]
MESSAGES = {
    "missing": "not found",
    "folder": "is a folder",
    "empty": "is empty",
    "text renamed .mp4": "not a video",
    "zero decodable frames": "no decodable video frames",
}


def one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("explorer: error: "), result.stderr
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("name", FAILING)
def test_cli_commands_refuse_bad_videos(inputs, run_cli, tmp_path, name):
    bad = inputs[name]
    before = sorted(p.name for p in bad.parent.iterdir())
    one_line_error(run_cli("info", bad), MESSAGES[name])
    one_line_error(run_cli("encode", bad, "--model", MODEL, "-o", tmp_path / "t.npz"),
                   MESSAGES[name])
    one_line_error(run_cli("train", bad, "-o", tmp_path / "m.safetensors"), MESSAGES[name])
    one_line_error(run_cli("export", "--model", MODEL, "--video", bad, "--keyframes", "0,1",
                           "-o", tmp_path / "c.mp4"), MESSAGES[name])
    one_line_error(run_cli(bad, "--screenshot", tmp_path / "s.png", timeout=240),
                   MESSAGES[name])
    assert list(tmp_path.iterdir()) == [], "nothing half-written"
    assert sorted(p.name for p in bad.parent.iterdir()) == before, "inputs untouched"


@pytest.mark.parametrize("name", WORKING)
def test_odd_but_valid_videos_encode(inputs, run_cli, tmp_path, name):
    output = tmp_path / "t.npz"
    result = run_cli("encode", inputs[name], "--model", MODEL, "-o", output, "--no-cache")
    assert result.returncode == 0, result.stderr
    assert output.exists()
    if name.startswith("truncated"):
        assert "explorer: warning: stopped after" in result.stderr, "a truncated file says so"


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    chattr = shutil.which("chattr")
    if chattr and subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode:
        chattr = None
    if not chattr:
        folder.chmod(0o555)
    try:
        (folder / "probe").touch()
        pytest.skip("cannot make a read-only folder here")
    except OSError:
        pass
    yield folder
    if chattr:
        subprocess.run([chattr, "-i", str(folder)], check=True)
    folder.chmod(0o755)


def test_read_only_target_folders_are_refused_before_work(read_only_folder, run_cli,
                                                         demo_clip):
    target = read_only_folder / "out"
    for args in (("train", demo_clip, "-o", f"{target}.safetensors"),
                 ("encode", demo_clip, "--model", MODEL, "-o", f"{target}.npz"),
                 ("export", "--model", MODEL, "--video", demo_clip, "--keyframes", "0,5",
                  "-o", f"{target}.mp4"),
                 ("export", "--model", MODEL, "--video", demo_clip, "--keyframes", "0,5",
                  "-o", f"{read_only_folder}/")):
        one_line_error(run_cli(*args), "not writable")
    assert list(read_only_folder.iterdir()) == []


def test_a_full_disk_during_export_leaves_nothing(tmp_path, monkeypatch, capsys, demo_clip):
    from explorer.cli import main
    from explorer.video import writer

    def full_disk(self, frame):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "clip.mp4"))

    monkeypatch.setattr(writer.ClipWriter, "write", full_disk)
    with pytest.raises(SystemExit) as exit_code:
        main(["export", "--model", str(MODEL), "--video", str(demo_clip), "--keyframes", "0,5",
              "-o", str(tmp_path / "clip.mp4")])
    assert exit_code.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("explorer: error: no space left on device")
    assert list(tmp_path.iterdir()) == []


def test_wrong_model_for_a_trajectory_is_refused(tmp_path, run_cli, demo_clip):
    trajectory = tmp_path / "t.npz"
    assert run_cli("encode", demo_clip, "--model", MODEL, "-o", trajectory).returncode == 0
    other = tmp_path / "other.safetensors"
    result = run_cli("train", demo_clip, "-o", other, "--latent-dim", "4", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    one_line_error(run_cli("export", "--model", other, "--trajectory", trajectory,
                           "--keyframes", "0,5", "-o", tmp_path / "c.mp4"),
                   "holds latents of shape (16,) but")


def drop(window: MainWindow, path: Path) -> None:
    """Hand the window a file drop (offscreen Qt has no drag manager to deliver one)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    options = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
               Qt.KeyboardModifier.NoModifier)
    with warnings.catch_warnings():  # PySide6 marks the only constructor deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(50, 50), *options)
    window.dragEnterEvent(enter)
    assert enter.isAccepted(), "the window takes file drags"
    window.dropEvent(QDropEvent(QPointF(50, 50), *options))


@pytest.fixture
def window(qtbot):
    return ready_window(qtbot, interactive=True)


@pytest.mark.parametrize("name", FAILING)
def test_gui_shows_a_dialog_for_bad_videos_and_stays_usable(window, qtbot, inputs, name):
    seen: list[str] = []
    answer_next_dialog(QMessageBox.StandardButton.Ok, seen)
    with qtbot.waitSignal(window.worker.failed, timeout=30_000):
        drop(window, inputs[name])  # drag and drop, like the Open dialog, opens the file
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert MESSAGES[name] in seen[0] and "Traceback" not in seen[0]
    with qtbot.waitSignal(window.worker.trajectoryReady, timeout=60_000):
        window.open_files(demo_video_path(), MODEL)


def test_gui_refuses_a_pickle_model_without_running_it(window, qtbot, tmp_path):
    import pickle

    from tests.test_model_files import RunsCode

    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / "evil.safetensors"
    checkpoint.write_bytes(pickle.dumps(RunsCode(marker)))
    seen: list[str] = []
    answer_next_dialog(QMessageBox.StandardButton.Ok, seen)
    with qtbot.waitSignal(window.worker.failed, timeout=30_000):
        drop(window, checkpoint)
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert "never loads pickles" in seen[0] and not marker.exists()


@pytest.mark.parametrize("name", ["one frame", "8K frames"])
def test_gui_opens_odd_but_valid_videos(window, qtbot, inputs, name):
    with qtbot.waitSignal(window.worker.trajectoryReady, timeout=120_000):
        window.open_files(inputs[name], MODEL)
    qtbot.waitUntil(lambda: window.original_view.frame is not None, timeout=20_000)
    assert window.latent_map.point_count == (1 if name == "one frame" else 2)
