"""Sessions in the window: open, save, the unsaved-changes mark, undo, autosave, recovery.

The window's state is captured into a :class:`~explorer.session.document.Session` (the
Qt-free file format) and restored from one. Autosaves are written on a background thread
so a large trajectory never stalls the window.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFileDialog, QMessageBox

from explorer.errors import ExplorerError
from explorer.fileio import require_file
from explorer.session.autosave import AutosaveStore
from explorer.session.document import SUFFIX, Session, load_session, save_session

if TYPE_CHECKING:
    from explorer.ui.main_window import MainWindow

SESSION_FILTER = f"Latent Explorer sessions (*{SUFFIX});;All files (*)"
AUTOSAVE_MS = 60_000


class SessionController(QObject):
    """Owns the undo stack and the session file of one window."""

    dirtyChanged = Signal(bool)

    def __init__(self, window: MainWindow, autosave: AutosaveStore | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._announce)
        self._other_changes = False  # settings and layouts: not undoable, still unsaved
        self.pending: Session | None = None
        self._recovered = False
        self.autosave_store = autosave or AutosaveStore()
        self._autosaver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start(AUTOSAVE_MS)

    @property
    def dirty(self) -> bool:
        return self._other_changes or not self.undo_stack.isClean()

    def mark_changed(self) -> None:
        """A change that is saved with the session but not undoable."""
        if not self._other_changes:
            self._other_changes = True
            self._announce()

    def mark_saved(self) -> None:
        self._other_changes = False
        self.undo_stack.setClean()
        self._announce()

    def _announce(self, *_args) -> None:
        self.dirtyChanged.emit(self.dirty)

    # --- files ------------------------------------------------------------------------

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        suggested = self.path or self.window.video.with_suffix(SUFFIX)
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Session", str(suggested),
                                              SESSION_FILTER)
        if not path:
            return False
        return self._write(Path(path if path.endswith(SUFFIX) else path + SUFFIX))

    def _write(self, path: Path) -> bool:
        session = self.window.capture_session()
        if session is None:
            self.window.show_error("there is nothing to save yet: wait until the video is open")
            return False
        try:
            save_session(session, path)
        except (ExplorerError, OSError) as exc:
            self.window.show_error(f"could not save the session: {exc}")
            return False
        self.path = path
        self.mark_saved()
        self.window.statusBar().showMessage(f"Saved {path}", 5_000)
        return True

    def choose_and_open(self) -> None:
        if not self.maybe_discard():
            return
        start = str(self.path.parent if self.path else self.window.video.parent)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Session", start, SESSION_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> bool:
        """Load a session; the window opens its video and model and then applies it."""
        try:
            session = load_session(path)
            video, model, reuse = self._resolve_files(session)
        except ExplorerError as exc:
            self.window.show_error(str(exc))
            return False
        previous, self.pending, self.path = self.path, session, path
        trajectory = session.trajectory if reuse else None
        pca_state = session.projections.get("pca") if reuse else None
        if not self.window.open_files(video, model, trajectory=trajectory, pca_state=pca_state):
            self.pending, self.path = None, previous  # the user declined to run its model
            return False
        return True

    def _resolve_files(self, session: Session) -> tuple[Path, Path, bool]:
        """The session's video and model, located if they moved; and whether its latents
        still belong to them (if not, the video is encoded again)."""
        from explorer.fileio import file_fingerprint
        from explorer.model.identity import model_identity

        # A FIFO or a device in the video's place would never finish being fingerprinted.
        video = require_file(self._existing(Path(session.video_path), "video"), "video")
        model = Path(session.model_path)
        if len(model.parts) > 1:  # a file or folder, not a plugin spec
            model = self._existing(model, "model")
        same_video = file_fingerprint(video) == session.video_fingerprint
        same_model = (model_identity(model) or "") == session.model_sha256
        if not (same_video and same_model):
            changed = "video" if not same_video else "model"
            self.window.show_error(
                f"the {changed} is not the one this session was saved with; the video will "
                "be encoded again and keyframes on frames keep their frame numbers",
                title="Session files changed",
            )
        return video, model, same_video and same_model

    def _existing(self, path: Path, what: str) -> Path:
        if path.exists():
            return path
        located = self.window.locate_file(what, path)
        if located is None:
            raise ExplorerError(f"the session's {what} {path} was not found")
        return located

    def apply_pending(self) -> None:
        """After the session's video is open: restore keyframes, layouts, probe and view."""
        session, self.pending = self.pending, None
        if session is None:
            return
        self.window.apply_session(session)
        self.undo_stack.clear()
        self.mark_saved()
        if self._recovered:  # restored from an autosave: not saved anywhere yet
            self._recovered = False
            self.mark_changed()

    def maybe_discard(self) -> bool:
        """Ask what to do with unsaved changes; False means the user cancelled."""
        if not self.dirty or not self.window.interactive:
            return True
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        answer = QMessageBox.question(self.window, "Unsaved changes",
                                      "The session has unsaved changes. Save them?", buttons)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # --- autosave and recovery ----------------------------------------------------------

    def autosave(self) -> None:
        """Write the session to the autosave file, off the GUI thread."""
        if not self.dirty:
            return
        session = self.window.capture_session()
        if session is not None:
            self._autosaver.submit(save_session, session, self.autosave_store.prepare())

    def wait_for_autosave(self) -> None:
        self._autosaver.submit(lambda: None).result()

    def recover(self) -> bool:
        """Offer to restore a session left by a crash; True if one is being restored."""
        orphans = self.autosave_store.orphans()
        if not orphans:
            return False
        answer = QMessageBox.question(
            self.window, "Restore session?",
            "Latent Explorer did not close normally last time. Restore the unsaved session?",
        )
        for orphan in orphans[1:]:
            orphan.unlink(missing_ok=True)
        if answer != QMessageBox.StandardButton.Yes:
            orphans[0].unlink(missing_ok=True)
            return False
        restored = self.open(orphans[0])
        self.path = None  # an autosave is not the user's file: Save asks where
        self._recovered = restored
        orphans[0].unlink(missing_ok=True)
        return restored

    def close(self) -> None:
        """Normal shutdown: finish writing, then forget the autosave."""
        self.undo_stack.cleanChanged.disconnect(self._announce)  # it signals as it dies
        self._autosave_timer.stop()
        self._autosaver.shutdown(wait=True)
        self.autosave_store.discard()
