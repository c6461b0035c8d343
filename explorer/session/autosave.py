"""Autosave and crash recovery.

Each running app writes its session to ``<user data>/autosave/session-<pid>.lxsession``
and deletes it when it closes normally. A file whose process is gone was left by a crash
or a kill: the next start offers to restore it.
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.paths import user_data_dir
from explorer.session.document import SUFFIX


class AutosaveStore:
    def __init__(self, folder: Path | None = None, pid: int | None = None) -> None:
        self.folder = folder or user_data_dir() / "autosave"
        self.pid = os.getpid() if pid is None else pid

    @property
    def path(self) -> Path:
        """This process's autosave file."""
        return self.folder / f"session-{self.pid}{SUFFIX}"

    def prepare(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.path

    def discard(self) -> None:
        """Forget this process's autosave (after a normal close)."""
        self.path.unlink(missing_ok=True)

    def orphans(self) -> list[Path]:
        """Autosaves left by processes that no longer run, newest first (regular files
        only: a FIFO or device under that name is never offered)."""
        if not self.folder.is_dir():
            return []
        found = [
            path for path in self.folder.glob(f"session-*{SUFFIX}")
            if path.is_file() and not _running(_pid_of(path)) and _pid_of(path) != self.pid
        ]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _pid_of(path: Path) -> int:
    try:
        return int(path.name.removeprefix("session-").removesuffix(SUFFIX))
    except ValueError:
        return -1


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:  # e.g. Windows, where signal 0 is not a liveness check
        return False
    return True
