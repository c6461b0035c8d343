"""Sessions in the window: open, save, the unsaved-changes mark, autosave, recovery.

The state (:class:`~explorer.state.app.AppState`) becomes a
:class:`~explorer.session.document.Session` (the Qt-free file format) and comes back from
one. Opening a session asks the window to open its video and model; the session is applied
once they are open, and forgotten if they fail. A second model compared beside the first
(Model › Compare With…) is saved by where it is and what it is; once the session is open it
is compared again, through the same trust gate as any model (``comparisonWanted``).
Autosaves are written on a background thread so a large trajectory never stalls the window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from explorer.errors import ExplorerError
from explorer.fileio import require_file
from explorer.session.autosave import AutosaveStore
from explorer.session.document import SUFFIX, Session, load_session, save_session
from explorer.state.app import AppState
from explorer.state.comparison import ComparisonState
from explorer.ui.save_locations import SaveLocations

SESSION_FILTER = f"Latent Explorer sessions (*{SUFFIX});;All files (*)"
AUTOSAVE_MS = 60_000
UNDOABLE_NOT = ("interpolation", "export")
"""Aspects of the state saved with a session whose changes are not undoable edits."""

Opener = Callable[[Path, Path, object, object], bool]
"""Opens a video and model (with a saved trajectory and PCA state, or None to encode);
False when the user declined to run the model's code."""


class SessionController(QObject):
    """Owns the session file of one window: its path, whether it changed, its autosave."""

    dirtyChanged = Signal(bool)
    pathChanged = Signal()  # the session's file changed (saved as, opened, forgotten)
    error = Signal(str, str)  # message, dialog title: a session that cannot be opened or saved
    warning = Signal(str, str)  # message, dialog title: opened, but not quite as saved
    message = Signal(str)  # for the status bar
    recentFile = Signal(object)  # Path: a session file the user opened or saved
    comparisonWanted = Signal(object)  # Path: the opened session's second model, to compare

    def __init__(self, state: AppState, parent: QWidget, opener: Opener, interactive: bool,
                 locations: SaveLocations, autosave: AutosaveStore | None = None,
                 comparison: ComparisonState | None = None) -> None:
        """``comparison``: the window's second model, saved with the session."""
        super().__init__(parent)
        self.state, self._parent, self._opener = state, parent, opener
        self.interactive, self._locations = interactive, locations
        self.comparison = comparison
        self.path: Path | None = None
        self._other_changes = False  # settings and layouts: not undoable, still unsaved
        self._pending: tuple[Session, Path | None] | None = None
        self._was_dirty = False
        self._saved_comparison: str | None = None
        """Where the second model of the session as saved (or opened) is, or None."""
        state.history.changed.connect(self._on_history_changed)
        state.changed.connect(self._on_state_changed)
        if comparison is not None:
            comparison.changed.connect(self._on_comparison_changed)
        self.autosave_store = autosave or AutosaveStore()
        self._autosaver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._autosave_lock = threading.Lock()
        self._autosave_next: Session | None = None
        self._autosave_running = False
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start(AUTOSAVE_MS)

    @property
    def dirty(self) -> bool:
        return self._other_changes or not self.state.history.clean

    @property
    def pending(self) -> Session | None:
        """A session waiting for its video and model to open."""
        return None if self._pending is None else self._pending[0]

    def mark_changed(self) -> None:
        """A change that is saved with the session but not undoable."""
        if not self._other_changes:
            self._other_changes = True
            self._announce()

    def mark_saved(self) -> None:
        self._other_changes = False
        self.state.history.set_clean()
        self._announce()

    def _on_history_changed(self) -> None:
        """An edit, undone or redone: saved to the autosave at once, not in a minute."""
        self._announce()
        self.autosave()

    def _on_state_changed(self, aspect: str) -> None:
        if aspect in UNDOABLE_NOT:
            self.mark_changed()

    def _on_comparison_changed(self, _what: str) -> None:
        """A comparison begun or ended is unsaved, unless it is the session's own (one
        reopened with the session)."""
        if self._compared()[0] != self._saved_comparison:
            self.mark_changed()

    def _compared(self) -> tuple[str | None, str]:
        """The second model's location and identity; (None, "") when not comparing."""
        model = None if self.comparison is None else self.comparison.model
        return (None, "") if model is None else model.reference()

    def _session(self) -> Session | None:
        """The state as a session, with the second model compared, if any."""
        session = self.state.to_session()
        if session is not None:
            session.compared_model_path, session.compared_model_sha256 = self._compared()
        return session

    def _announce(self) -> None:
        if self.dirty != self._was_dirty:
            self._was_dirty = self.dirty
            self.dirtyChanged.emit(self.dirty)

    # --- files ------------------------------------------------------------------------

    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self._write(self.path)

    def save_as(self) -> bool:
        video = self.state.video_path
        name = f"{video.stem if video else 'session'}{SUFFIX}"
        suggested = self.path or self._locations.folder("session", video) / name
        path, _ = QFileDialog.getSaveFileName(self._parent, "Save Session", str(suggested),
                                              SESSION_FILTER)
        if not path:
            return False
        return self._write(Path(path if path.endswith(SUFFIX) else path + SUFFIX))

    def _write(self, path: Path) -> bool:
        session = self._session()
        if session is None:
            self.error.emit("there is nothing to save yet: wait until the video is open",
                            "Save Session")
            return False
        try:
            save_session(session, path)
        except (ExplorerError, OSError) as exc:
            self.error.emit(f"could not save the session: {exc}", "Save Session")
            return False
        self.path = path
        self.pathChanged.emit()
        self._saved_comparison = session.compared_model_path
        self.mark_saved()
        self._locations.remember("session", path)
        self.message.emit(f"Saved {path}")
        self.recentFile.emit(path)
        return True

    def choose_and_open(self) -> None:
        if not self.maybe_discard():
            return
        video = self.state.video_path
        start = self.path.parent if self.path else video.parent if video else Path.home()
        path, _ = QFileDialog.getOpenFileName(self._parent, "Open Session", str(start),
                                              SESSION_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path, recovered: bool = False) -> bool:
        """Load a session and ask for its video and model; it is applied once they are open
        (:meth:`apply_pending`). False, with nothing changed, when it cannot be opened."""
        try:
            session = load_session(path)
            video, model, reuse = self._resolve_files(session)
        except ExplorerError as exc:
            self.error.emit(str(exc), "Open Session")
            return False
        session.compared_model_path = self._resolve_compared(session)
        self._pending = (session, None if recovered else path)
        trajectory = session.trajectory if reuse else None
        pca_state = session.projections.get("pca") if reuse else None
        if not self._opener(video, model, trajectory, pca_state):
            self._pending = None  # the user declined to run its model
            return False
        return True

    def _resolve_files(self, session: Session) -> tuple[Path, Path, bool]:
        """The session's video and model, located if they moved; and whether its latents
        still belong to them (if not, the video is encoded again)."""
        from explorer.model.identity import model_identity

        video = self._existing(Path(session.video_path), "video")
        model = Path(session.model_path)
        if len(model.parts) > 1:  # a file or folder, not a plugin spec
            model = self._existing(model, "model")
        same_video = _fingerprint(video) == session.video_fingerprint
        same_model = (model_identity(model) or "") == session.model_sha256
        if not (same_video and same_model):
            changed = "video" if not same_video else "model"
            self.warning.emit(
                f"the {changed} is not the one this session was saved with; the video will "
                "be encoded again and keyframes on frames keep their frame numbers",
                "Session files changed",
            )
        return video, model, same_video and same_model

    def _resolve_compared(self, session: Session) -> str | None:
        """The session's second model, located if it moved; None (and a warning: the
        session opens without the comparison) when it cannot be found. Nothing of it is
        opened here: that goes through the trust gate once the session is open."""
        from explorer.model.identity import model_identity, model_location

        if session.compared_model_path is None:
            return None
        model = Path(session.compared_model_path)
        if len(model.parts) > 1:  # a file or folder, not a plugin spec
            try:
                model = self._existing(model, "second model")
            except ExplorerError as exc:
                self.warning.emit(f"{exc}; the session opens without the comparison",
                                  "Open Session")
                return None
        if (model_identity(model) or "") != session.compared_model_sha256:
            self.message.emit(f"the second model {model.name or model} is not the one this "
                              "session compared; comparing with it as it is now")
        return model_location(model)

    def _existing(self, path: Path, what: str) -> Path:
        if path.exists():
            return path
        located = self.locate(what, path)
        if located is None:
            raise ExplorerError(f"the session's {what} {path} was not found")
        return located

    def locate(self, what: str, missing: Path) -> Path | None:
        """Ask the user where a moved file went; None when the window may not ask."""
        if not self.interactive:
            return None
        QMessageBox.information(self._parent, f"Locate the {what}",
                                f"The session's {what} {missing} is not there any more. "
                                "Please show where it is now.")
        path, _ = QFileDialog.getOpenFileName(self._parent, f"Locate {missing.name}",
                                              str(Path.home()))
        return Path(path) if path else None

    def apply_pending(self) -> bool:
        """After the session's video and model are open: restore the rest of it. False when
        no session was waiting."""
        if self._pending is None:
            return False
        (session, path), self._pending = self._pending, None
        self.state.restore(session)
        self.path = path
        self.pathChanged.emit()
        self._saved_comparison = session.compared_model_path
        self.mark_saved()
        if path is None:  # restored from an autosave: not saved anywhere yet
            self.mark_changed()
        else:
            self.recentFile.emit(path)
        if session.compared_model_path is not None:
            self.comparisonWanted.emit(Path(session.compared_model_path))
        return True

    def open_failed(self) -> None:
        """The session's video or model did not open: forget the session."""
        self._pending = None

    def forget_path(self) -> None:
        """Other files were opened: they are a new, unsaved document."""
        self.path = None
        self.pathChanged.emit()
        self._saved_comparison = None
        self.mark_saved()

    def maybe_discard(self) -> bool:
        """Ask what to do with unsaved changes; False means the user cancelled."""
        if not self.dirty or not self.interactive:
            return True
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        answer = QMessageBox.question(self._parent, "Unsaved changes",
                                      "The session has unsaved changes. Save them?", buttons)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # --- autosave and recovery ----------------------------------------------------------

    def autosave(self) -> None:
        """Write the session to the autosave file, off the GUI thread. Latest wins: edits
        made while a write runs (a burst of probe moves) are written once, the newest."""
        if not self.dirty:
            return
        session = self._session()
        if session is None:
            return
        with self._autosave_lock:
            self._autosave_next = session
            if self._autosave_running:
                return
            self._autosave_running = True
        self._autosaver.submit(self._write_autosaves)

    def _write_autosaves(self) -> None:
        """On the autosave thread: write the newest waiting session until none waits."""
        while True:
            with self._autosave_lock:  # finding none and stopping are one step
                session, self._autosave_next = self._autosave_next, None
                if session is None:
                    self._autosave_running = False
                    return
            try:
                save_session(session, self.autosave_store.prepare(), compress=False)
            except BaseException:  # the next autosave tries again
                with self._autosave_lock:
                    self._autosave_running = False
                raise

    def wait_for_autosave(self) -> None:
        self._autosaver.submit(lambda: None).result()

    def recover(self) -> bool:
        """Offer to restore a session left by a crash; True if one is being restored."""
        orphans = self.autosave_store.orphans()
        if not orphans:
            return False
        answer = QMessageBox.question(self._parent, "Restore session?",
                                      _restore_question(orphans[0]))
        for orphan in orphans[1:]:
            orphan.unlink(missing_ok=True)
        if answer != QMessageBox.StandardButton.Yes:
            orphans[0].unlink(missing_ok=True)
            return False
        restored = self.open(orphans[0], recovered=True)
        orphans[0].unlink(missing_ok=True)
        return restored

    def close(self) -> None:
        """Normal shutdown: finish writing, then forget the autosave."""
        self.state.history.changed.disconnect(self._on_history_changed)
        self.state.changed.disconnect(self._on_state_changed)
        if self.comparison is not None:
            self.comparison.changed.disconnect(self._on_comparison_changed)
        self._autosave_timer.stop()
        self._autosaver.shutdown(wait=True)
        self.autosave_store.discard()


def _restore_question(autosave: Path) -> str:
    """What the user is asked about a crash's autosave: which video, saved when."""
    import time

    try:
        video = Path(load_session(autosave).video_path).name
    except ExplorerError:
        video = None
    when = time.strftime("%H:%M on %d %B", time.localtime(autosave.stat().st_mtime))
    what = f"the unsaved session of {video}" if video else "the unsaved session"
    return (f"Latent Explorer did not close normally last time. Restore {what}, "
            f"autosaved at {when}?")


def _fingerprint(video: Path) -> str:
    """The content fingerprint of a session's video file, or of its library's folder."""
    from explorer.fileio import file_fingerprint
    from explorer.library.catalog import load_library
    from explorer.library.joined import is_library, library_fingerprint

    if is_library(video):
        return library_fingerprint(load_library(video))
    # A FIFO or a device in the video's place would never finish being fingerprinted.
    return file_fingerprint(require_file(video, "video"))
