"""Where Save dialogs start: the folder used last for that kind of file, else beside the
video when the user may write there, else the user's Videos or Documents folder. Never
inside the app's own files (the bundled demo) or a folder the user cannot write."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from explorer.paths import default_save_folder, is_app_folder

KINDS = ("clip", "session", "model", "map")


def writable_folder(folder: Path | None) -> bool:
    """Whether a new file may be suggested in ``folder``."""
    return (folder is not None and folder.is_dir() and os.access(folder, os.W_OK)
            and not is_app_folder(folder))


class SaveLocations:
    """Remembers, per kind of file, the folder the user last saved one in."""

    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    def folder(self, kind: str, near: Path | None = None) -> Path:
        """Where to suggest saving a ``kind`` file (one of :data:`KINDS`) made from ``near``."""
        remembered = self._settings.value(f"save-folder/{kind}", "")
        for candidate in (Path(remembered) if remembered else None,
                          near.parent if near is not None else None):
            if writable_folder(candidate):
                return candidate
        return default_save_folder(kind)

    def remember(self, kind: str, path: str | os.PathLike[str]) -> None:
        """``path`` (a file, or a clip's PNG folder) was saved: the next ``kind`` file
        starts beside it."""
        folder = Path(os.fspath(path).rstrip("/\\")).parent
        self._settings.setValue(f"save-folder/{kind}", str(folder.resolve()))
