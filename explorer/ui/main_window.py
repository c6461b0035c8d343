"""The main window: latent map in the centre, frame views beside it, timeline below."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.model.identity import model_identity, model_location
from explorer.model.kinds import MODEL_SUFFIXES
from explorer.ui.frame_view import FrameView
from explorer.ui.interpolation_panel import InterpolationPanel, PanelState
from explorer.ui.latent_map import LatentMap
from explorer.ui.projection_bar import ProjectionBar
from explorer.ui.session_controller import SessionController
from explorer.ui.timeline import Timeline
from explorer.ui.trust import CodeGate
from explorer.ui.worker import (
    CursorPreview,
    FramePreview,
    ModelLoader,
    Thumbnail,
    WorkerThread,
)

VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.webm *.mkv *.avi *.ts *.gif);;All files (*)"
MODEL_FILTER = "Models (*.safetensors *.pt *.pth *.jit *.torchscript);;All files (*)"
RECENT_LIMIT = 10
BUSY_AFTER_MS = 250  # a preview slower than this shows "decoding…"
GROWTH_REDRAW_MS = 200  # the growing trajectory is redrawn at most this often
DEVICES = (
    ("Automatic (GPU if present)", "auto"),
    ("CPU", "cpu"),
    ("CUDA", "cuda"),
    ("Apple MPS", "mps"),
)


class MainWindow(QMainWindow):
    """Shows one video's latent trajectory; all model work happens on the worker."""

    ready = Signal()
    """The trajectory is on the map and the first frame views are painted."""

    def __init__(
        self,
        video: Path,
        model: Path,
        interactive: bool = True,
        model_loader: ModelLoader | None = None,
        session: Path | None = None,
        recover: bool = False,
        trusted_code: Iterable[str | Path] = (),
    ) -> None:
        """``session`` opens a saved session instead of ``video``/``model``; ``recover``
        offers to restore an autosave left by a crash. A window that is not ``interactive``
        (tests, screenshots, benchmarks) opens no dialogs: errors go to the status bar and
        unsaved changes are dropped on close. ``trusted_code`` names the code models (see
        :mod:`explorer.ui.trust`) the user trusted on the command line; others are asked
        about, and refused without asking when not interactive."""
        super().__init__()
        self.setWindowTitle("Latent Explorer")
        self.setAcceptDrops(True)
        self.resize(1360, 860)
        self.video, self.model = video, model
        self.interactive = interactive
        self.code_gate = CodeGate(trusted_code)
        self._frame_stamp = self._cursor_stamp = self._thumbnail_stamp = 0
        self._frame_shown = self._cursor_shown = 0  # the stamps of the images on screen
        self._busy_timer = QTimer(self, singleShot=True, interval=BUSY_AFTER_MS)
        self._busy_timer.timeout.connect(self._show_decoding)
        self.trajectory = None
        self.projection = None
        self.probe_latent: np.ndarray | None = None
        self._ready_sent = False
        self._settings = QSettings()
        self._session_file, self._recover = session, recover
        self._probe_rest: np.ndarray | None = None  # the probe's latent before a drag

        self.latent_map = LatentMap()
        self.projection_bar = ProjectionBar()
        self._growth: list = []  # PCA axes of the first batch while a video encodes
        self._growth_drawn = QElapsedTimer()  # since the growing trajectory was last drawn
        self.original_view = FrameView("Original", "loading…")
        self.reconstruction_view = FrameView("Reconstruction", "loading…")
        self.cursor_view = FrameView("Cursor", "drag the probe or a point on the map")
        self.timeline = Timeline()
        self.interpolation = InterpolationPanel()
        self._model_info = QFormLayout()

        self._worker_thread = WorkerThread(model_loader)
        self.worker = self._worker_thread.worker
        self.sessions = SessionController(self)
        self._build_layout()
        self._build_menus()
        self._build_status_bar()
        self._connect()

    def start(self) -> None:
        """Open the session, a crashed session's autosave, or the video and model."""
        if self._session_file is not None:
            if not self.sessions.open(self._session_file):
                self.open_files(self.video, self.model)
        elif not (self._recover and self.sessions.recover()):
            self.open_files(self.video, self.model)

    # --- layout -----------------------------------------------------------------------

    def _build_layout(self) -> None:
        decoded = QSplitter(Qt.Orientation.Horizontal)
        decoded.addWidget(self.reconstruction_view)
        decoded.addWidget(self.cursor_view)
        views = QSplitter(Qt.Orientation.Vertical)
        views.addWidget(self.original_view)
        views.addWidget(decoded)

        info = QWidget()
        info.setLayout(self._model_info)
        self._model_info.setContentsMargins(6, 6, 6, 6)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.interpolation, "Keyframes")
        self.side_tabs.addTab(info, "Model")

        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(views)
        side.addWidget(self.side_tabs)
        side.setStretchFactor(0, 1)
        side.setStretchFactor(1, 1)

        map_panel = QWidget()
        map_layout = QVBoxLayout(map_panel)
        map_layout.setContentsMargins(0, 0, 0, 0)
        map_layout.addWidget(self.projection_bar)
        map_layout.addWidget(self.latent_map, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(map_panel)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([820, 540])

        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(centre)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        for action in (
            self._add_action(
                file_menu, "Open &Video…", QKeySequence.StandardKey.Open, self._choose_video
            ),
            self._add_action(file_menu, "Open &Model…", "Ctrl+M", self._choose_model),
            self._add_action(file_menu, "Open Model &Folder…", "Ctrl+Shift+M",
                             self._choose_model_folder),
        ):
            toolbar.addAction(action)
        self._recent_menu = file_menu.addMenu("Open &Recent")
        self._refresh_recent_menu()
        file_menu.addSeparator()
        self._add_action(file_menu, "Open &Session…", "Ctrl+Shift+O",
                         self.sessions.choose_and_open)
        self._add_action(file_menu, "&Save Session", QKeySequence.StandardKey.Save,
                         self.sessions.save)
        self._add_action(file_menu, "Save Session &As…", "Ctrl+Shift+S", self.sessions.save_as)
        file_menu.addSeparator()
        train = self._add_action(
            file_menu, "&Train Model on This Video…", "Ctrl+T", self.train_model
        )
        toolbar.addAction(train)
        export = self._add_action(file_menu, "&Export Clip…", "Ctrl+E", self.export_clip)
        toolbar.addAction(export)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.sessions.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.sessions.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (undo, redo):
            edit_menu.addAction(action)
            self.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        self._add_action(view_menu, "Play / Pause", "Space", self.timeline.toggle_play)
        self._add_action(view_menu, "Next Frame", "Right", lambda: self.timeline.step(1))
        self._add_action(view_menu, "Previous Frame", "Left", lambda: self.timeline.step(-1))
        self._add_action(view_menu, "First Frame", "Home", lambda: self.timeline.set_frame(0))
        self._add_action(
            view_menu,
            "Last Frame",
            "End",
            lambda: self.timeline.set_frame(self.timeline.frame_count - 1),
        )
        view_menu.addSeparator()
        self._add_action(view_menu, "Reset Map View", "Ctrl+0", self.latent_map.autoRange)
        self._add_action(view_menu, "Probe to Current Frame", "P", self._probe_to_current)
        self._add_action(
            view_menu, "Add Current Frame as Keyframe", "K", self.add_current_frame_keyframe
        )

        device_menu = self.menuBar().addMenu("&Device")
        group = QActionGroup(self)
        for label, device in DEVICES:
            action = QAction(label, self, checkable=True)
            action.setChecked(device == "auto")
            action.triggered.connect(lambda _=False, d=device: self.worker.set_device(d))
            group.addAction(action)
            device_menu.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Latent Explorer", self)
        about.setMenuRole(QAction.MenuRole.AboutRole)  # macOS puts it in the app menu
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _show_about(self) -> None:
        from explorer.ui.about_dialog import show_about

        show_about(self)

    def _add_action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._activity = QLabel("Starting…")
        self._progress = QProgressBar()
        self._progress.setMaximumWidth(220)
        self._progress.setVisible(False)
        self._cancel = QPushButton("Cancel")
        self._cancel.setVisible(False)
        # a lambda runs in the GUI thread: a bound slot of the worker would queue behind
        # the very job it is meant to cancel
        self._cancel.clicked.connect(lambda: self.worker.cancel())
        self.model_label = QLabel("")
        self.frames_label = QLabel("")
        self.device_label = QLabel("")
        bar.addWidget(self._activity, 1)
        bar.addPermanentWidget(self._progress)
        bar.addPermanentWidget(self._cancel)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.frames_label)
        bar.addPermanentWidget(self.device_label)

    def _connect(self) -> None:
        # Worker signals go to methods of this window, never to lambdas: a bound method of
        # a QObject runs in that object's (the GUI) thread; a lambda would run in the
        # worker's.
        worker = self.worker
        worker.status.connect(self._activity.setText)
        worker.modelReady.connect(self._on_model_ready)
        worker.jobProgress.connect(self._on_job_progress)
        worker.trajectoryGrew.connect(self._on_trajectory_grew)
        worker.trajectoryReady.connect(self._on_trajectory_ready)
        worker.jobFinished.connect(self._on_job_finished)
        worker.framePreviewReady.connect(self._on_frame_preview)
        worker.cursorReady.connect(self._on_cursor)
        worker.thumbnailReady.connect(self._on_thumbnail)
        worker.keyframeThumbnailReady.connect(self._on_keyframe_thumbnail)
        worker.failed.connect(self._on_failed)
        self.timeline.frameChanged.connect(self._on_frame_changed)
        self.latent_map.frameClicked.connect(self.timeline.set_frame)
        self.latent_map.frameHovered.connect(self._on_hovered)
        self.latent_map.probeMoved.connect(self._decode_at)
        self.latent_map.pointDragged.connect(self._on_point_dragged)
        self.latent_map.pathDrawn.connect(self._on_path_drawn)
        self.latent_map.keyframeAtPoint.connect(self._add_point_keyframe)
        self.latent_map.keyframeAtPosition.connect(self._add_position_keyframe)
        panel = self.interpolation
        panel.addFrameRequested.connect(self.add_current_frame_keyframe)
        panel.addProbeRequested.connect(self.add_probe_keyframe)
        panel.pathChanged.connect(lambda _path: self._draw_clip_path())
        panel.previewStep.connect(lambda _step, latent: self._request_cursor(latent))
        panel.exportRequested.connect(self.export_clip)
        panel.edited.connect(self._on_keyframes_edited)
        panel.settingsChanged.connect(self.sessions.mark_changed)
        self.latent_map.probeReleased.connect(self._on_probe_released)
        self.latent_map.pointReleased.connect(lambda *_: self._on_probe_released())
        self.sessions.dirtyChanged.connect(lambda _dirty: self._update_title())
        worker.clipExported.connect(self._on_clip_exported)
        self.projection_bar.projectionReady.connect(self._show_projection)
        self.projection_bar.choice.activated.connect(lambda _: self.sessions.mark_changed())
        self.projection_bar.failed.connect(self._on_failed)

    # --- opening files ----------------------------------------------------------------

    def open_files(self, video: Path, model: Path, trajectory=None,
                   pca_state: dict | None = None) -> bool:
        """Load ``model`` and encode ``video`` on the worker, replacing what is open.

        A restored session passes its ``trajectory`` (and PCA state): nothing is encoded.
        Returns False, with nothing changed, when the user declines to run a code model.
        """
        trusted = self.code_gate.permits(model, self, ask=self.interactive)
        if not trusted and self.interactive:
            self.statusBar().showMessage(f"Did not open {Path(model).name}: its code was not run")
            return False
        self.video, self.model = Path(video), Path(model)
        if trajectory is None and self.sessions.pending is None:
            self.sessions.path = None  # a new document
        self._update_title()
        self.trajectory = self.projection = self.probe_latent = None
        self._growth = []
        self._growth_drawn.invalidate()  # the first batch of the new video is drawn at once
        # Not an undoable edit: the old keyframes' latents mean nothing for another video.
        self.interpolation.restore(PanelState((), None))
        self.projection_bar.clear()
        for view in (self.original_view, self.reconstruction_view, self.cursor_view):
            view.clear()
        self._progress.setRange(0, 0)
        self._progress.setVisible(True)
        self._cancel.setVisible(True)
        self._remember(self.video, "video")
        self._remember(self.model, "model")
        self.worker.open(self.video, self.model, trajectory, pca_state, trust_code=trusted)
        return True

    def open_dropped(self, path: Path) -> None:
        """A dropped file: a session opens, a model replaces the model, else the video."""
        from explorer.session.document import SUFFIX

        if path.suffix.lower() == SUFFIX:
            if self.sessions.maybe_discard():
                self.sessions.open(path)
        elif path.suffix.lower() in MODEL_SUFFIXES or (path / "config.json").is_file():
            self._replace(self.video, path)  # a model file, or a diffusers folder
        else:
            self._replace(path, self.model)

    def _replace(self, video: Path, model: Path) -> None:
        """Open other files, after asking about unsaved changes."""
        if self.sessions.maybe_discard():
            self.sessions.undo_stack.clear()
            self.sessions.mark_saved()
            self.open_files(video, model)

    def _choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Video", str(self.video.parent), VIDEO_FILTER
        )
        if path:
            self._replace(Path(path), self.model)

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Model", str(self.model.parent), MODEL_FILTER
        )
        if path:
            self._replace(self.video, Path(path))

    def _choose_model_folder(self) -> None:
        """A diffusers AutoencoderKL folder (config.json and safetensors weights)."""
        path = QFileDialog.getExistingDirectory(self, "Open Model Folder", str(self.model.parent))
        if path:
            self._replace(self.video, Path(path))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        local = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if local:
            self.open_dropped(Path(local[0]))
            event.acceptProposedAction()

    def _remember(self, path: Path, kind: str) -> None:
        entries = [e for e in self._recent() if e != f"{kind}:{path}"]
        self._settings.setValue("recent", [f"{kind}:{path}", *entries][:RECENT_LIMIT])
        self._refresh_recent_menu()

    def _recent(self) -> list[str]:
        value = self._settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _refresh_recent_menu(self) -> None:
        self._recent_menu.clear()
        for entry in self._recent():
            kind, _, path = entry.partition(":")
            action = self._recent_menu.addAction(f"{Path(path).name}  ({kind})")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, k=kind, p=Path(path): self._open_recent(k, p))
        self._recent_menu.setEnabled(bool(self._recent()))

    def _open_recent(self, kind: str, path: Path) -> None:
        if kind == "model":
            self._replace(self.video, path)
        else:
            self._replace(path, self.model)

    def train_model(self) -> None:
        """Train a model on the open video; open it with the video when training ends."""
        from explorer.ui.train_dialog import TrainDialog

        dialog = TrainDialog(self.worker, self.video, self)
        if dialog.exec() and dialog.saved_model is not None:
            self.open_files(self.video, dialog.saved_model)

    # --- the user's actions -----------------------------------------------------------

    def _on_frame_changed(self, index: int) -> None:
        if self.trajectory is None:
            return
        self.latent_map.set_current(index)
        self._frame_stamp = self.worker.request_frame(index)
        self._busy_timer.start()

    def _show_decoding(self) -> None:
        """Slow models (large frames on a CPU) take seconds: say so where the image goes."""
        if self._frame_stamp != self._frame_shown:
            self.reconstruction_view.set_caption("decoding…")
        if self._cursor_stamp != self._cursor_shown:
            self.cursor_view.set_caption("decoding…")

    def _on_hovered(self, index: int) -> None:
        if index >= 0 and self.trajectory is not None:
            self._thumbnail_stamp = self.worker.request_thumbnail(index)

    def _decode_at(self, x: float, y: float, base_index: int | None = None) -> None:
        """Decode the latent under map position (x, y) into the cursor view.

        When a frame's own point is dragged, its latent is the base: components the 2-D
        view cannot show stay as they were in that frame.
        """
        if self.projection is None:
            return
        base = None if base_index is None else self.trajectory.mu[base_index]
        self.probe_latent = self.projection.inverse(np.array([[x, y]]), base=base)[0]
        self._request_cursor(self.probe_latent)

    def _request_cursor(self, latent: np.ndarray) -> None:
        self._cursor_stamp = self.worker.request_cursor(latent)
        self._busy_timer.start()

    def _on_point_dragged(self, index: int, x: float, y: float) -> None:
        self.latent_map.place_probe(x, y)
        self._decode_at(x, y, base_index=index)

    def _probe_to_current(self) -> None:
        if self.trajectory is not None:
            index = self.timeline.frame
            x, y = self.latent_map.point_position(index)
            self.latent_map.place_probe(x, y)
            self._decode_at(x, y, base_index=index)
            self._probe_rest = self.probe_latent

    # --- sessions and undo ------------------------------------------------------------

    def capture_session(self):
        """Everything needed to come back here, or None before a trajectory is open."""
        from explorer.fileio import file_fingerprint
        from explorer.session.document import Session

        if self.trajectory is None:
            return None
        state = self.interpolation.snapshot()
        (x0, x1), (y0, y1) = self.latent_map.viewRange()
        # Encoding recorded both identities: hashing a multi-GB model again at every
        # autosave would stall the window.
        meta = self.trajectory.meta
        fingerprint = meta.get("video", {}).get("fingerprint") or file_fingerprint(self.video)
        if "sha256" in meta.get("model", {}):
            identity = meta["model"]["sha256"]
        else:
            identity = model_identity(self.model)
        return Session(
            video_path=str(self.video.resolve()),
            video_fingerprint=fingerprint,
            model_path=model_location(self.model),
            model_sha256=identity or "",
            trajectory=self.trajectory,
            projections=self.projection_bar.fitted_states(),
            projection_kind=self.projection_bar.kind,
            keyframes=[keyframe for keyframe, _ in state.keyframes],
            probe=self.probe_latent,
            drawn_path=state.drawn,
            interpolation=self.interpolation.settings(),
            current_frame=self.timeline.frame,
            view_range=[[x0, x1], [y0, y1]],
        )

    def apply_session(self, session) -> None:
        """Restore a session's layouts, keyframes, probe and view onto the open trajectory."""
        from explorer.latent.keyframes import Keyframe
        from explorer.latent.projection import projection_from_state

        same_latents = session.trajectory is self.trajectory
        restored = {}
        if same_latents:
            restored = {kind: projection_from_state(state, self.trajectory.mu)
                        for kind, state in session.projections.items() if kind != "pca"}
        self.projection_bar.set_trajectory(self.trajectory.mu, self.projection, restored,
                                           session.projection_kind)
        rows = {int(f): row for row, f in enumerate(self.trajectory.frame_index)}
        keyframes = []
        for keyframe in session.keyframes:
            if keyframe.frame is not None and not same_latents:
                if keyframe.frame not in rows:
                    continue  # that frame is no longer in the (re-encoded) video
                keyframe = Keyframe(self.trajectory.mu[rows[keyframe.frame]], keyframe.frame)
            keyframes.append((keyframe, QIcon()))
        self.interpolation.apply_settings(session.interpolation)
        drawn = session.drawn_path if same_latents else None
        self.interpolation.restore(PanelState(tuple(keyframes), drawn))
        for keyframe, _ in keyframes:
            if keyframe.frame is not None:
                self.worker.request_keyframe_thumbnail(rows[keyframe.frame])
        self.timeline.set_frame(session.current_frame)
        if session.probe is not None and session.probe.shape == self.trajectory.mu.shape[1:]:
            self._set_probe(session.probe)
        if session.view_range is not None and same_latents:
            (x0, x1), (y0, y1) = session.view_range
            self.latent_map.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)

    def locate_file(self, what: str, missing: Path) -> Path | None:
        """Ask the user where a moved file went; None when the window may not ask."""
        if not self.interactive:
            return None
        QMessageBox.information(self, f"Locate the {what}",
                                f"The session's {what} {missing} is not there any more. "
                                "Please show where it is now.")
        path, _ = QFileDialog.getOpenFileName(self, f"Locate {missing.name}", str(Path.home()))
        return Path(path) if path else None

    def show_error(self, message: str, title: str = "Latent Explorer") -> None:
        """A dialog (in interactive use) and the status bar: never a traceback."""
        self._activity.setText(message)
        if self.interactive:
            QMessageBox.warning(self, title, message)

    def _update_title(self) -> None:
        name = self.sessions.path.name if self.sessions.path else self.video.name
        mark = "*" if self.sessions.dirty else ""
        self.setWindowTitle(f"{name}{mark} — Latent Explorer")

    def _on_keyframes_edited(self, before, text: str) -> None:
        from explorer.ui.undo import StateCommand

        after = self.interpolation.snapshot()
        self.sessions.undo_stack.push(StateCommand(self.interpolation.restore, before, after,
                                                   text))
        self.sessions.autosave()

    def _on_probe_released(self) -> None:
        from explorer.ui.undo import StateCommand

        before, after = self._probe_rest, self.probe_latent
        self._probe_rest = after
        if before is not None and after is not None and not np.array_equal(before, after):
            self.sessions.undo_stack.push(StateCommand(self._set_probe, before, after,
                                                       "Move probe"))

    def _set_probe(self, latent: np.ndarray) -> None:
        """Put the probe at a latent, wherever the projection draws it (undo, sessions)."""
        self._probe_rest = self.probe_latent = latent
        if self.projection is not None:
            x, y = self.projection.project_new(latent[None])[0]
            self.latent_map.place_probe(float(x), float(y))
            self._request_cursor(latent)

    # --- keyframes and clips -----------------------------------------------------------

    def add_current_frame_keyframe(self) -> None:
        if self.trajectory is not None:
            self._add_frame_keyframe(self.timeline.frame, self.original_view.frame)

    def _add_point_keyframe(self, row: int) -> None:
        self._add_frame_keyframe(row, None)
        self.worker.request_keyframe_thumbnail(row)

    def _add_frame_keyframe(self, row: int, picture: np.ndarray | None) -> None:
        from explorer.latent.keyframes import Keyframe

        frame = int(self.trajectory.frame_index[row])
        self.interpolation.add(Keyframe(self.trajectory.mu[row].astype(np.float32), frame), picture)

    def add_probe_keyframe(self) -> None:
        from explorer.latent.keyframes import Keyframe

        if self.probe_latent is not None:
            self.interpolation.add(
                Keyframe(self.probe_latent.astype(np.float32)), self.cursor_view.frame
            )

    def _add_position_keyframe(self, x: float, y: float) -> None:
        from explorer.latent.keyframes import Keyframe

        if self.projection is not None:
            latent = self.projection.inverse(np.array([[x, y]]))[0]
            self.interpolation.add(Keyframe(latent.astype(np.float32)))

    def _on_path_drawn(self, points: np.ndarray) -> None:
        """A freehand stroke: even arc-length samples, mapped back through the inverse."""
        from explorer.latent.interpolate import resample_polyline

        if self.projection is None:
            return
        samples = resample_polyline(points, self.interpolation.steps)
        self.interpolation.set_drawn_path(self.projection.inverse(samples))
        self.side_tabs.setCurrentWidget(self.interpolation)

    def _draw_clip_path(self) -> None:
        """Show the clip's path and keyframes on the map, in the current projection."""
        path = self.interpolation.path
        if self.projection is None or path is None:
            self.latent_map.show_path(None)
        else:
            self.latent_map.show_path(self.projection.project_new(path.latents))
        keyframes = self.interpolation.keyframes
        if self.projection is not None and keyframes:
            latents = np.stack([k.latent for k in keyframes])
            self.latent_map.show_keyframes(self.projection.project_new(latents))
        else:
            self.latent_map.show_keyframes(np.zeros((0, 2)))

    def export_clip(self) -> None:
        """Ask where and how, then export the clip on the worker."""
        from explorer.ui.export_dialog import ExportDialog
        from explorer.ui.worker import ExportClip

        path = self.interpolation.path
        if path is None:
            QMessageBox.information(
                self,
                "Export Clip",
                "Add two or more keyframes, or draw a path on the map (Shift+drag), first.",
            )
            return
        dialog = ExportDialog(
            self.video.with_name(f"{self.video.stem}_clip"), self.interpolation.fps.value(), self
        )
        if not dialog.exec():
            return
        recipe = {
            "keyframes": [k.record() for k in self.interpolation.keyframes],
            "method": self.interpolation.method.currentData(),
            "easing": self.interpolation.easing.currentData(),
            "model": model_location(self.model),
            "video": str(self.video.resolve()),
        }
        self._progress.setRange(0, 0)
        self._progress.setVisible(True)
        self._cancel.setVisible(True)
        self.worker.export(
            ExportClip(
                path.latents, list(path.frames), dialog.output_path(), dialog.settings(), recipe
            )
        )

    # --- worker answers ---------------------------------------------------------------

    def _on_model_ready(self, info: dict) -> None:
        self.device_label.setText(info["device_label"])
        self.model_label.setText(Path(info.get("path", "")).name or info["kind"])
        while self._model_info.rowCount():
            self._model_info.removeRow(0)
        height, width = info["frame_size"]
        training = info.get("training", {})
        rows = [
            ("Model", Path(info.get("path", "")).name or info["kind"]),
            ("Kind", info["kind"]),
            ("Frame size", f"{width} × {height}"),
            ("Latent shape", " × ".join(map(str, info["latent_shape"]))),
            ("Parameters", f"{info['parameters']:,}"),
        ]
        if training.get("holdout_psnr_db") is not None:
            rows.append(("Held-out PSNR", f"{training['holdout_psnr_db']:.1f} dB"))
        rows += [("Device", info["device_label"]), ("Video", self.video.name)]
        for label, value in rows:
            self._model_info.addRow(f"{label}:", QLabel(value))

    def _on_job_progress(self, done: int, expected: int) -> None:
        if expected > 0:
            self._progress.setRange(0, expected)
            self._progress.setValue(min(done, expected))

    def _on_trajectory_grew(self, batch: np.ndarray) -> None:
        """Draw the part encoded so far, on the PCA axes of the first batch (they stay put)."""
        from explorer.latent.projection import principal_axes

        if not self._growth:
            self._growth = [*principal_axes(batch.astype(np.float64), 2), []]
        mean, axes, points = self._growth
        points.append(((batch - mean) @ axes.T).astype(np.float32))
        if self._growth_drawn.isValid() and self._growth_drawn.elapsed() < GROWTH_REDRAW_MS:
            return  # redrawing every batch of a long video would cost the GUI quadratic time
        self._growth_drawn.start()
        embedding = np.concatenate(points)
        self.latent_map.set_trajectory(embedding, np.arange(len(embedding), dtype=np.float64))

    def _on_trajectory_ready(self, trajectory, pca) -> None:
        self.trajectory = trajectory
        self._growth = []
        self.timeline.set_frames(
            trajectory.time_s, trajectory.meta["video"]["fps"], trajectory.psnr_db
        )
        self.frames_label.setText(f"{len(trajectory)} frames")
        self.projection_bar.set_trajectory(trajectory.mu, pca)
        self.sessions.apply_pending()

    def _show_projection(self, projection) -> None:
        """Lay the map out with ``projection``; the probe keeps its latent."""
        self.projection = projection
        self.trajectory.embedding = projection.embedding
        self.trajectory.meta["projection"] = {"kind": projection.kind}
        self.latent_map.set_trajectory(projection.embedding, self.trajectory.time_s)
        name = projection.kind.upper()
        self.latent_map.set_axis_names(f"{name} 1", f"{name} 2")
        self.latent_map.set_current(self.timeline.frame)
        self._draw_clip_path()
        if self.probe_latent is None:
            x, y = projection.embedding.mean(axis=0)
        else:
            x, y = projection.project_new(self.probe_latent[None])[0]
        self.latent_map.place_probe(float(x), float(y))

    def _on_job_finished(self, outcome: str) -> None:
        self._progress.setVisible(False)
        self._cancel.setVisible(False)
        if outcome == "cancelled" and self.trajectory is None:
            self._activity.setText("Encoding cancelled")

    def _on_frame_preview(self, preview: FramePreview) -> None:
        if preview.stamp != self._frame_stamp or self.trajectory is None:
            return  # an older request answered late: never paint it
        self._frame_shown = preview.stamp
        frame_number = int(self.trajectory.frame_index[preview.index])
        self.original_view.set_frame(preview.original, f"frame {frame_number}")
        caption = "decoded from μ"
        if self.trajectory.psnr_db is not None:
            caption += f"  ·  PSNR {self.trajectory.psnr_db[preview.index]:.1f} dB"
        self.reconstruction_view.set_frame(preview.reconstruction, caption)
        if not self._ready_sent:
            self._ready_sent = True
            self._probe_to_current()
            self.ready.emit()

    def _on_cursor(self, preview: CursorPreview) -> None:
        if preview.stamp == self._cursor_stamp:
            self._cursor_shown = preview.stamp
            x, y = self.latent_map.probe.pos().x(), self.latent_map.probe.pos().y()
            self.cursor_view.set_frame(preview.image, f"decoded at ({x:.2f}, {y:.2f})")

    def _on_keyframe_thumbnail(self, thumbnail: Thumbnail) -> None:
        if self.trajectory is not None:
            frame = int(self.trajectory.frame_index[thumbnail.index])
            self.interpolation.set_thumbnail(frame, thumbnail.image)

    def _on_clip_exported(self, path: str) -> None:
        self.statusBar().showMessage(f"Exported {path}", 10_000)

    def _on_thumbnail(self, thumbnail: Thumbnail) -> None:
        if thumbnail.stamp == self._thumbnail_stamp:
            self.latent_map.show_thumbnail(thumbnail.index, thumbnail.image)

    def _on_failed(self, message: str) -> None:
        self.show_error(message)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.sessions.maybe_discard():
            event.ignore()
            return
        if self.timeline.playing:
            self.timeline.toggle_play()
        self.projection_bar.cancel()
        self.sessions.close()
        self._worker_thread.close()
        super().closeEvent(event)
