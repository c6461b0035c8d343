"""Open Recent: one entry per file however it was reached, sessions too, kept in QSettings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtWidgets import QApplication

from explorer.ui.recent_files import (
    RecentEntry,
    RecentFiles,
    labels,
    parse_entries,
    remember,
)


@pytest.fixture
def files(tmp_path: Path, monkeypatch) -> Path:
    """A folder, also the working directory, holding a video, a model and a session."""
    for name in ("clip.mp4", "demo/model.safetensors", "work.lxsession"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    return tmp_path.resolve()


def _settings(folder: Path) -> QSettings:
    return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def recent(qtbot, files: Path) -> RecentFiles:
    return RecentFiles(_settings(files))


def _file_actions(recent: RecentFiles) -> list:
    """The menu's entries, without the separator and "Clear Menu"."""
    return [action for action in recent.menu.actions()
            if not action.isSeparator() and action.text() != "Clear Menu"]


def test_one_file_reached_several_ways_is_one_entry(files):
    model = files / "demo" / "model.safetensors"
    (files / "alias.safetensors").symlink_to(model)
    entries: list[RecentEntry] = []
    for spelling in ("demo/model.safetensors", model, "alias.safetensors",
                     "demo/../demo/model.safetensors", "clip.mp4", str(model)):
        entries = remember(entries, "video" if spelling == "clip.mp4" else "model", spelling)
    assert entries == [RecentEntry("model", model), RecentEntry("video", files / "clip.mp4")]


def test_a_code_model_is_kept_as_typed(files):
    entries = remember([], "model", "my_models.vae:build")
    entries = remember(entries, "model", "demo/model.safetensors")
    entries = remember(entries, "model", "my_models.vae:build")
    assert entries == [
        RecentEntry("model", "my_models.vae:build"),
        RecentEntry("model", files / "demo" / "model.safetensors"),
    ]


def test_the_limit_holds_and_the_newest_come_first(files):
    entries: list[RecentEntry] = []
    for index in range(6):
        entries = remember(entries, "video", f"clip{index}.mp4", limit=4)
    assert [entry.path.name for entry in entries] == ["clip5.mp4", "clip4.mp4", "clip3.mp4",
                                                      "clip2.mp4"]
    entries = remember(entries, "video", "clip3.mp4", limit=4)  # again: it moves up
    assert [entry.path.name for entry in entries] == ["clip3.mp4", "clip5.mp4", "clip4.mp4",
                                                      "clip2.mp4"]


def test_same_names_are_told_apart_by_their_folders(tmp_path):
    entries = [
        RecentEntry("model", tmp_path / "a" / "demo" / "model.safetensors"),
        RecentEntry("model", tmp_path / "b" / "demo" / "model.safetensors"),
        RecentEntry("video", tmp_path / "x" / "clip.mp4"),
        RecentEntry("video", tmp_path / "y" / "clip.mp4"),
        RecentEntry("session", tmp_path / "work.lxsession"),
        RecentEntry("model", "my_models.vae:build"),
    ]
    assert labels(entries) == [
        "model.safetensors — a/demo  (model)",
        "model.safetensors — b/demo  (model)",
        "clip.mp4 — x  (video)",
        "clip.mp4 — y  (video)",
        "work.lxsession  (session)",
        "my_models.vae:build  (model)",
    ]


def test_videos_models_and_sessions_are_listed(recent, files):
    assert not recent.menu.isEnabled()  # nothing opened yet
    recent.add("video", "clip.mp4")
    recent.add("model", Path("demo/model.safetensors"))
    recent.add("session", "work.lxsession")
    assert recent.entries() == [
        RecentEntry("session", files / "work.lxsession"),
        RecentEntry("model", files / "demo" / "model.safetensors"),
        RecentEntry("video", files / "clip.mp4"),
    ]
    assert recent.menu.isEnabled()
    actions = _file_actions(recent)
    assert [action.text() for action in actions] == [
        "work.lxsession  (session)", "model.safetensors  (model)", "clip.mp4  (video)"
    ]
    assert actions[1].toolTip() == str(files / "demo" / "model.safetensors")
    assert actions[1].statusTip() == actions[1].toolTip()


def test_picking_an_entry_asks_to_open_it(recent, files, qtbot):
    recent.add("model", "demo/model.safetensors")
    recent.add("session", "work.lxsession")
    recent.add("model", "my_models.vae:build")
    actions = _file_actions(recent)
    with qtbot.waitSignal(recent.openRequested) as picked:
        actions[1].trigger()
    assert picked.args == ["session", files / "work.lxsession"]
    with qtbot.waitSignal(recent.openRequested) as picked:
        actions[2].trigger()
    assert picked.args == ["model", files / "demo" / "model.safetensors"]
    with qtbot.waitSignal(recent.openRequested) as picked:
        actions[0].trigger()
    assert picked.args == ["model", "my_models.vae:build"]


def test_the_list_persists_across_instances(recent, files):
    recent.add("video", "clip.mp4")
    recent.add("session", "work.lxsession")
    recent.add("model", "my_models.vae:build")
    assert str(files / "work.lxsession") in (files / "settings.ini").read_text()  # on disk
    stored = _settings(files).value("recent")
    assert stored == [
        "model:my_models.vae:build",
        f"session:{files / 'work.lxsession'}",
        f"video:{files / 'clip.mp4'}",
    ]
    again = RecentFiles(_settings(files))
    assert again.entries() == recent.entries()
    assert [action.text() for action in _file_actions(again)] == [
        action.text() for action in _file_actions(recent)
    ]


def test_another_windows_files_are_kept(recent, files):
    other = RecentFiles(_settings(files))
    other.add("video", "clip.mp4")
    recent.add("session", "work.lxsession")
    assert [entry.kind for entry in recent.entries()] == ["session", "video"]


def test_the_old_kind_path_strings_are_read(files, qtbot):
    settings = _settings(files)
    settings.setValue("recent", [
        "model:demo/model.safetensors",  # the window stored paths as typed
        f"model:{files / 'demo' / 'model.safetensors'}",
        "video:clip.mp4",
        "no colon",
        "picture:clip.mp4",
        "video:",
        f"session:{files / 'work.lxsession'}",
    ])
    assert RecentFiles(settings).entries() == [
        RecentEntry("model", files / "demo" / "model.safetensors"),
        RecentEntry("video", files / "clip.mp4"),
        RecentEntry("session", files / "work.lxsession"),
    ]


def test_a_single_stored_entry_is_read(files, qtbot):
    """An INI file gives a list of one back as a plain string."""
    (files / "settings.ini").write_text(f"[General]\nrecent=video:{files / 'clip.mp4'}\n")
    assert isinstance(_settings(files).value("recent"), str)
    assert RecentFiles(_settings(files)).entries() == [RecentEntry("video", files / "clip.mp4")]


def test_only_the_first_colon_separates_the_kind():
    """A Windows path has a colon of its own."""
    [entry] = parse_entries(["model:C:\\models\\vae.pt"])
    assert entry.kind == "model"
    assert str(entry.path) == "C:\\models\\vae.pt"


def test_a_missing_file_is_shown_disabled_until_it_returns(recent, files, qtbot):
    recent.add("video", "clip.mp4")
    recent.add("model", "my_models.vae:build")
    video = files / "clip.mp4"
    moved = video.rename(files / "elsewhere.mp4")

    def show_menu() -> None:
        recent.menu.popup(QPoint(0, 0))  # it checks the files each time it opens
        qtbot.waitExposed(recent.menu)
        recent.menu.hide()
        QApplication.processEvents()

    show_menu()
    code, clip = _file_actions(recent)
    assert not clip.isEnabled()
    assert clip.toolTip() == f"{video} (not found)"
    assert code.isEnabled()  # a code model cannot be checked without running it
    assert recent.entries()[1] == RecentEntry("video", video)  # kept

    moved.rename(video)
    show_menu()
    assert _file_actions(recent)[1].isEnabled()


def test_clear_menu_forgets_everything(recent, files, qtbot):
    recent.add("video", "clip.mp4")
    [clear] = [action for action in recent.menu.actions() if action.text() == "Clear Menu"]
    clear.trigger()
    assert recent.entries() == []
    assert not recent.menu.isEnabled()
    assert RecentFiles(_settings(files)).entries() == []


def test_an_ampersand_is_shown_not_taken_as_a_shortcut(recent, files):
    (files / "R&D.mp4").write_bytes(b"x")
    recent.add("video", "R&D.mp4")
    assert _file_actions(recent)[0].text() == "R&&D.mp4  (video)"


def test_an_unknown_kind_is_refused(recent):
    with pytest.raises(ValueError, match="picture"):
        recent.add("picture", "clip.mp4")
    assert recent.entries() == []


def test_entries_are_stored_as_resolved_paths(files):
    link = files / "link"
    link.symlink_to(files / "demo", target_is_directory=True)
    [entry] = remember([], "model", os.path.join("link", "model.safetensors"))
    assert entry.path == files / "demo" / "model.safetensors"
