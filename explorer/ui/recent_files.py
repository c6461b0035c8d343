"""The File ▸ Open Recent menu: videos, models and sessions that opened.

The list rule (:func:`remember`, :func:`deduplicated`) and the labels (:func:`labels`) are
plain functions without Qt. Paths are kept resolved, so one file reached as a relative
path, an absolute path, through a symlink or through ``..`` is one entry. A model named by
code (``package.module:factory``, or a registered ``loader:argument``) is kept as typed.

An entry whose file is gone stays in the list, disabled, rather than being dropped: a file
on an unplugged drive or a network share comes back, and the menu checks again each time
it opens. "Clear Menu" removes everything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath
from typing import NamedTuple

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QMenu, QWidget

KINDS = ("video", "model", "session")
RECENT_LIMIT = 10
SETTINGS_KEY = "recent"


class RecentEntry(NamedTuple):
    """A file that opened: ``path`` is resolved, or a model's code spec (a ``str``)."""

    kind: str
    path: Path | str


def recent_entry(kind: str, path: str | os.PathLike[str]) -> RecentEntry:
    """The entry for ``path`` opened as ``kind``, with the path resolved."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    text = os.fspath(path)
    if _is_code_spec(kind, text):
        return RecentEntry(kind, text)
    return RecentEntry(kind, Path(text).expanduser().resolve())


def _is_code_spec(kind: str, text: str) -> bool:
    """A model named by code rather than by a file: ``module:factory`` or ``loader:argument``.

    A Windows path (``C:\\models\\vae.pt``) is absolute, so its colon does not make it one.
    """
    path = Path(text).expanduser()
    return kind == "model" and ":" in text and not path.is_absolute() and not path.exists()


def deduplicated(entries: Iterable[RecentEntry]) -> list[RecentEntry]:
    """``entries`` resolved, each (kind, file) only where it first appears."""
    unique: list[RecentEntry] = []
    for kind, path in entries:
        entry = recent_entry(kind, path)
        if entry not in unique:
            unique.append(entry)
    return unique


def remember(
    entries: Sequence[RecentEntry],
    kind: str,
    path: str | os.PathLike[str],
    limit: int = RECENT_LIMIT,
) -> list[RecentEntry]:
    """``entries`` with ``path`` first and any earlier entry for the same file removed."""
    return deduplicated([recent_entry(kind, path), *entries])[: max(limit, 0)]


def parse_entries(value: object) -> list[RecentEntry]:
    """Entries from the stored ``"kind:path"`` strings; unreadable ones are skipped.

    Only the first colon separates: a Windows path has one of its own.
    """
    strings = [value] if isinstance(value, str) else value
    if not isinstance(strings, list):
        return []
    entries = []
    for text in strings:
        if not isinstance(text, str):
            continue
        kind, colon, path = text.partition(":")
        if colon and kind in KINDS and path:
            entries.append(RecentEntry(kind, path))
    return deduplicated(entries)


def entry_text(entry: RecentEntry) -> str:
    """The stored form, ``kind:path``."""
    return f"{entry.kind}:{entry.path}"


def labels(entries: Sequence[RecentEntry]) -> list[str]:
    """``name  (kind)`` for each entry; entries whose label would be the same get as many of
    their folders' names as tell them apart (``model.safetensors — demo  (model)``)."""
    names = [_name(entry.path) for entry in entries]
    twins: dict[tuple[str, str], list[int]] = {}
    for index, (entry, name) in enumerate(zip(entries, names, strict=True)):
        twins.setdefault((entry.kind, name), []).append(index)
    places = [""] * len(entries)
    for indices in twins.values():
        if len(indices) > 1:
            folders = _distinct_folders([entries[i].path for i in indices])
            for index, place in zip(indices, folders, strict=True):
                places[index] = place
    return [
        f"{name} — {place}  ({entry.kind})" if place else f"{name}  ({entry.kind})"
        for entry, name, place in zip(entries, names, places, strict=True)
    ]


def _name(path: Path | str) -> str:
    return path if isinstance(path, str) else path.name or str(path)


def _distinct_folders(paths: Sequence[Path | str]) -> list[str]:
    """The last few names of each path's folder, as few as make them all different."""
    folders = [PurePath(path).parent.parts if isinstance(path, Path) else () for path in paths]
    for depth in range(1, max(len(parts) for parts in folders)):
        tails = [str(PurePath(*parts[-depth:])) if parts else "" for parts in folders]
        if len(set(tails)) == len(tails):
            return tails
    return [str(PurePath(*parts)) if parts else "" for parts in folders]


class RecentFiles(QObject):
    """The Open Recent menu and the list behind it, kept in QSettings under ``recent``."""

    openRequested = Signal(str, object)
    """The user picked an entry: its kind and its :class:`~pathlib.Path` (or code spec)."""

    def __init__(
        self,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        limit: int = RECENT_LIMIT,
    ) -> None:
        """``settings`` defaults to the application's; tests pass one on a temporary file."""
        super().__init__(parent)
        self._settings = settings if settings is not None else QSettings()
        self._limit = limit
        self._menu = QMenu("Open &Recent", parent)
        self._menu.setToolTipsVisible(True)
        self._menu.aboutToShow.connect(self._reload)
        self._entries: list[RecentEntry] = []
        self._reload()

    @property
    def menu(self) -> QMenu:
        """The submenu for the File menu (``file_menu.addMenu(recent.menu)``)."""
        return self._menu

    def entries(self) -> list[RecentEntry]:
        """The entries, most recent first."""
        return list(self._entries)

    def add(self, kind: str, path: Path | str) -> None:
        """Put ``path``, which has just opened as ``kind``, first (call only on success)."""
        self._settings.sync()  # another window may have added files since
        stored = parse_entries(self._settings.value(SETTINGS_KEY, []))
        self._store(remember(stored, kind, path, self._limit))

    def clear(self) -> None:
        """Forget every entry."""
        self._store([])

    def _store(self, entries: list[RecentEntry]) -> None:
        self._settings.setValue(SETTINGS_KEY, [entry_text(entry) for entry in entries])
        self._settings.sync()
        self._entries = entries
        self._rebuild_menu()

    def _reload(self) -> None:
        """Read the list again and check which files are still there."""
        self._settings.sync()
        self._entries = parse_entries(self._settings.value(SETTINGS_KEY, []))[: self._limit]
        self._rebuild_menu()

    def _rebuild_menu(self) -> None:
        self._menu.clear()
        for entry, label in zip(self._entries, labels(self._entries), strict=True):
            action = self._menu.addAction(label.replace("&", "&&"))  # "&" is not a mnemonic
            present = isinstance(entry.path, str) or entry.path.exists()
            tip = str(entry.path) if present else f"{entry.path} (not found)"
            action.setEnabled(present)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(
                lambda _=False, e=entry: self.openRequested.emit(e.kind, e.path)
            )
        if self._entries:
            self._menu.addSeparator()
            self._menu.addAction("Clear Menu", self.clear)
        self._menu.setEnabled(bool(self._entries))
