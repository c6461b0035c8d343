"""The main window: latent map in the centre, frame views beside it, timeline below.

The window composes: it builds the widgets, binds them to one
:class:`~explorer.state.app.AppState`, and routes menu actions and the worker's answers.
What is shown lives in the state; the model lives on the worker (``explorer.ui.worker``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QSettings, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
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

from explorer.errors import ExplorerError, describe_error
from explorer.latent.trajectory import TRAJECTORY_SUFFIX
from explorer.model.kinds import MODEL_SUFFIXES
from explorer.state.app import AppState, LoadedModel, LoadedVideo
from explorer.state.quality import reconstruction_warning
from explorer.ui.analysis_panel import TOP_ANOMALIES, AnalysisPanel
from explorer.ui.compare_controller import ComparisonController
from explorer.ui.device_menu import DeviceMenu
from explorer.ui.directions_panel import DirectionsPanel
from explorer.ui.frame_view import FrameView
from explorer.ui.interpolation_panel import InterpolationPanel
from explorer.ui.latent_map import LatentMap
from explorer.ui.map_binding import MapBinding
from explorer.ui.model_panel import ModelPanel, model_name
from explorer.ui.previews import PreviewClient
from explorer.ui.projection_bar import ProjectionBar
from explorer.ui.recent_files import RecentFiles
from explorer.ui.save_locations import SaveLocations
from explorer.ui.session_controller import SessionController
from explorer.ui.timeline import Timeline
from explorer.ui.traversal_panel import TraversalPanel
from explorer.ui.trust import CodeGate
from explorer.ui.worker import ModelLoader, WorkerThread
from explorer.video.formats import VIDEO_SUFFIXES

VIDEO_FILTER = (f"Videos ({' '.join('*' + suffix for suffix in VIDEO_SUFFIXES)});;"
                f"Trajectories encoded before (*{TRAJECTORY_SUFFIX});;All files (*)")
MESSAGE_S = 15  # how long a status-bar message stays
ERROR_S = 60  # an error stays longer (interactive use also shows it in a dialog)
MODEL_FILTER = f"Models ({' '.join('*' + s for s in MODEL_SUFFIXES)});;All files (*)"


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
        self.video, self.model = Path(video), Path(model)
        """The files open on the worker (before the first open: the ones to open)."""
        self.interactive = interactive
        self.code_gate = CodeGate(trusted_code)
        self.state = AppState()
        self._session_file, self._recover = session, recover
        self._opening: tuple[Path, Path] | None = None  # asked of the worker, not yet open
        self._files_open = False  # whether self.video and self.model are open on the worker
        self._model_info: dict = {}
        self._zooms: set = set()  # open full-size views, kept alive here
        self._warning: str | None = None  # about the video just opened, for the status bar
        self._ready_sent = False

        self.latent_map = LatentMap()
        self.map_binding = MapBinding(self.state, self.latent_map)
        self.projection_bar = ProjectionBar(self.state)
        self.original_view = FrameView("Original", "no video open")
        self.reconstruction_view = FrameView("Reconstruction", "no video open")
        self.cursor_view = FrameView("Cursor", "drag the probe or a point on the map")
        self.timeline = Timeline()
        self.interpolation = InterpolationPanel(self.state)
        self.analysis = AnalysisPanel(self.state)
        self.traversal = TraversalPanel(self.state)
        self.directions = DirectionsPanel(self.state)
        self.model_panel = ModelPanel()
        self.frame_views = (self.original_view, self.reconstruction_view, self.cursor_view)

        self._worker_thread = WorkerThread(model_loader)
        self.worker = self._worker_thread.worker
        self.previews = PreviewClient(
            self.worker, self.state, self.original_view, self.reconstruction_view,
            self.cursor_view, lambda: (self.latent_map.probe.pos().x(),
                                       self.latent_map.probe.pos().y()))
        self.comparison = ComparisonController(
            self, self.state, self.worker, self.latent_map, self.timeline, self.code_gate,
            lambda: self.interactive, self.show_error, self.show_message, self._show_busy)
        settings = QSettings()
        self.save_locations = SaveLocations(settings)
        self.sessions = SessionController(self.state, self, self.open_files, interactive,
                                          self.save_locations,
                                          comparison=self.comparison.comparison)
        self.recent = RecentFiles(settings, self)
        self.device_menu = DeviceMenu(self)
        self._build_layout()
        self._build_menus()
        self._build_status_bar()
        self._connect()

    def start(self) -> None:
        """Open the session, a crashed session's autosave, or the video and model."""
        if self._session_file is not None:
            if not self.sessions.open(self._session_file) and self.interactive:
                self.open_files(self.video, self.model)  # after the error's dialog
        elif not (self._recover and self.sessions.recover()):
            self.open_files(self.video, self.model)

    # --- building ---------------------------------------------------------------------

    def _build_layout(self) -> None:
        views = QSplitter(Qt.Orientation.Horizontal)  # three views of the same size
        for view in self.frame_views:
            views.addWidget(view)

        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.interpolation, "Keyframes")
        self.side_tabs.addTab(self.traversal, "Traverse")
        self.side_tabs.addTab(self.directions, "Directions")
        self.side_tabs.addTab(self.analysis, "Analysis")
        self.side_tabs.addTab(self.model_panel, "Model")
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(views)
        side.addWidget(self.comparison.views)  # while comparing models
        side.addWidget(self.side_tabs)
        side.setStretchFactor(0, 3)  # the pictures get the room a tall window has
        side.setStretchFactor(1, 3)
        side.setStretchFactor(2, 2)

        map_panel = QWidget()
        map_layout = QVBoxLayout(map_panel)
        map_layout.setContentsMargins(0, 0, 0, 0)
        map_layout.addWidget(self.projection_bar)
        maps = QSplitter(Qt.Orientation.Horizontal)  # the second while comparing models
        maps.addWidget(self.latent_map)
        maps.addWidget(self.comparison.map)
        map_layout.addWidget(maps, 1)

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
            self._add_action(file_menu, "Open &Video…", QKeySequence.StandardKey.Open,
                             self._choose_video),
            self._add_action(file_menu, "Open &Model…", "Ctrl+M", self._choose_model),
            self._add_action(file_menu, "Open Model &Folder…", "Ctrl+Shift+M",
                             self._choose_model_folder),
        ):
            toolbar.addAction(action)
        self._add_action(file_menu, "Open Video Ra&nge…", "Ctrl+Alt+O", self._choose_video_range)
        self._add_action(file_menu, "Open &Library…", "Ctrl+L", self._choose_library)
        file_menu.addMenu(self.recent.menu)
        file_menu.addSeparator()
        self._add_action(file_menu, "Open &Session…", "Ctrl+Shift+O",
                         self.sessions.choose_and_open)
        self._add_action(file_menu, "&Save Session", QKeySequence.StandardKey.Save,
                         self.sessions.save)
        self._add_action(file_menu, "Save Session &As…", "Ctrl+Shift+S", self.sessions.save_as)
        file_menu.addSeparator()
        toolbar.addAction(self._add_action(file_menu, "&Train Model on This Video…", "Ctrl+T",
                                           self.train_model))
        toolbar.addAction(self._add_action(file_menu, "&Export Clip…", "Ctrl+E",
                                           self.export_clip))
        self._add_action(file_menu, "Export Ma&p…", "Ctrl+Shift+E", self.export_map)
        self._add_action(file_menu, "Export Trajectory &Table…", "Ctrl+Alt+E",
                         self.export_table)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        edit_menu = self.menuBar().addMenu("&Edit")
        history = self.state.history
        self._undo = self._add_action(edit_menu, "&Undo", QKeySequence.StandardKey.Undo,
                                      history.undo)
        self._redo = self._add_action(edit_menu, "&Redo", "Ctrl+Shift+Z", history.redo)
        self._redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        history.changed.connect(self._show_history)
        self._show_history()

        view_menu = self.menuBar().addMenu("&View")
        timeline = self.timeline
        self._add_action(view_menu, "Play / Pause", "Space", timeline.toggle_play)
        self._add_action(view_menu, "Next Frame", "Right", lambda: timeline.step(1))
        self._add_action(view_menu, "Previous Frame", "Left", lambda: timeline.step(-1))
        self._add_action(view_menu, "One Second On", "Shift+Right", lambda: timeline.skip(1.0))
        self._add_action(view_menu, "One Second Back", "Shift+Left", lambda: timeline.skip(-1.0))
        self._add_action(view_menu, "First Frame", "Home", lambda: timeline.set_frame(0))
        self._add_action(view_menu, "Last Frame", "End",
                         lambda: timeline.set_position(timeline.position_count - 1))
        view_menu.addSeparator()
        self._add_action(view_menu, "Reset Map View", "Ctrl+0", self.latent_map.fit_view)
        self._lock_aspect = QAction("Lock Map &Aspect Ratio", self, checkable=True, checked=True)
        self._lock_aspect.setToolTip("One unit as long across as up (on for PCA by default)")
        self._lock_aspect.toggled.connect(self.map_binding.lock_aspect)
        self.map_binding.aspectLocked.connect(self._show_aspect_lock)
        view_menu.addAction(self._lock_aspect)
        self.addAction(self._lock_aspect)
        self._add_action(view_menu, "Probe to Current Frame", "P",
                         self.map_binding.probe_to_current)
        self._add_action(view_menu, "Add Current Frame as Keyframe", "K",
                         self.add_current_frame_keyframe)
        view_menu.addSeparator()
        for number, view in enumerate(self.frame_views, start=1):
            self._add_action(view_menu, f"{view.title} at Full Size", str(number),
                             lambda _=False, v=view: self._zoom(v))

        model_menu = self.menuBar().addMenu("&Model")
        self._add_action(model_menu, "Compare &With…", "Ctrl+Alt+M", self.comparison.choose)
        end = QAction("&End Comparison", self, enabled=False)
        end.triggered.connect(self.comparison.end)
        model_menu.addAction(end)
        self.comparison.end_action = end

        self.menuBar().addMenu(self.device_menu)
        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, "&Keyboard Shortcuts", "Ctrl+/", self._show_shortcuts)
        self._add_action(help_menu, "&Documentation", QKeySequence.StandardKey.HelpContents,
                         self._show_documentation)
        about = QAction("&About Latent Explorer", self)
        about.setMenuRole(QAction.MenuRole.AboutRole)  # macOS puts it in the app menu
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _add_action(self, menu: QMenu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({keys})")
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self._activity = QLabel("Starting…")
        self._activity_timer = QTimer(self, singleShot=True)
        self._activity_timer.timeout.connect(lambda: self._activity.setText(""))
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
        for widget in (self._progress, self._cancel, self.model_label, self.frames_label,
                       self.device_label):
            bar.addPermanentWidget(widget)

    def _connect(self) -> None:
        # Worker signals go to methods of QObjects living in the GUI thread, never to
        # lambdas: a lambda would run in the worker's thread.
        worker = self.worker
        worker.status.connect(self.show_message)
        worker.opened.connect(self._on_opened)
        worker.modelReady.connect(self._on_model_ready)
        worker.deviceChanged.connect(self.device_menu.set_current)
        worker.jobProgress.connect(self._on_job_progress)
        worker.trajectoryGrew.connect(self.map_binding.show_growth)
        worker.trajectoryReady.connect(self._on_trajectory_ready)
        worker.layoutsReady.connect(self._on_layouts_ready)
        worker.openFailed.connect(self._on_open_failed)
        worker.jobFinished.connect(self._on_job_finished)
        worker.failed.connect(self.show_error)
        worker.clipExported.connect(self._on_clip_exported)
        self.state.changed.connect(self._on_state_changed)
        self.timeline.frameChanged.connect(self.state.set_frame)
        self.latent_map.frameHovered.connect(self.previews.show_hover)
        self.previews.hoverThumbnail.connect(self.latent_map.show_thumbnail)
        self.previews.keyframeThumbnail.connect(self.interpolation.set_thumbnail)
        self.previews.frameShown.connect(self._on_frame_shown)
        self.map_binding.pathDrawn.connect(
            lambda: self.side_tabs.setCurrentWidget(self.interpolation))
        for view in self.frame_views:
            view.zoomRequested.connect(lambda v=view: self._zoom(v))
        panel = self.interpolation
        panel.addFrameRequested.connect(self.add_current_frame_keyframe)
        panel.addProbeRequested.connect(self.add_probe_keyframe)
        panel.previewStep.connect(self.previews.show_clip_step)
        panel.previewStep.connect(lambda _step, _count, latent:
                                  self.map_binding.show_playhead(latent))
        panel.previewStopped.connect(self.previews.show_probe)  # the probe's image again
        panel.previewStopped.connect(lambda: self.map_binding.show_playhead(None))
        panel.keyframeChosen.connect(self._go_to_keyframe)
        panel.thumbnailWanted.connect(self.previews.ask_keyframe_thumbnail)
        panel.exportRequested.connect(self.export_clip)
        self.traversal.renderRequested.connect(self._save_traversal)
        self.analysis.failed.connect(self.show_error)
        self.directions.failed.connect(self.show_error)
        self.directions.message.connect(self.show_message)
        self.analysis.message.connect(self.show_message)
        self.projection_bar.chosen.connect(lambda _kind: self.sessions.mark_changed())
        self.projection_bar.failed.connect(self.show_error)
        self.projection_bar.message.connect(self.show_message)
        self.sessions.dirtyChanged.connect(lambda _dirty: self._update_title())
        self.sessions.pathChanged.connect(self._update_title)
        self.sessions.error.connect(self.show_error)
        self.sessions.warning.connect(self.show_error)
        self.sessions.message.connect(self.show_message)
        self.sessions.recentFile.connect(lambda path: self.recent.add("session", path))
        self.sessions.comparisonWanted.connect(self.comparison.start)
        self.recent.openRequested.connect(self._open_recent)
        # not the worker's own method: that would queue behind the job it runs
        self.device_menu.chosen.connect(lambda device: self.worker.set_device(device))

    def _on_state_changed(self, aspect: str) -> None:
        """Every widget bound to the state, in an order that matters: the map places the
        probe before the previews caption it."""
        self.map_binding.on_state_changed(aspect)
        self.previews.on_state_changed(aspect)
        self.interpolation.on_state_changed(aspect)
        self.projection_bar.on_state_changed(aspect)
        self.analysis.on_state_changed(aspect)
        self.traversal.on_state_changed(aspect)
        self.directions.on_state_changed(aspect)
        trajectory = self.state.trajectory
        if aspect == "documents":
            self._show_on_timeline(trajectory)
            self._show_findings_on_timeline()
            rows = "latent steps" if trajectory and trajectory.is_temporal else "frames"
            self.frames_label.setText(f"{len(trajectory)} {rows}" if trajectory else "")
            self._update_title()
        elif aspect == "frame":
            library = self.state.library
            if library is not None and not (self.timeline.first_row <= self.state.frame
                                            < self.timeline.first_row
                                            + self.timeline.frame_count):
                self._show_on_timeline(trajectory)  # a frame of another video
            self.timeline.set_frame(self.state.frame, self.state.within)
        elif aspect == "findings":
            self._show_findings_on_timeline()

    def _show_findings_on_timeline(self) -> None:
        """Scenes as bands in the map's colours, the most anomalous frames as marks."""
        from explorer.ui.palette import category_colours

        findings, colours = self.state.findings, category_colours()
        scenes = [] if findings.scenes is None else [
            (first, last, tuple(colours[scene % len(colours)]))
            for scene, (first, last) in enumerate(findings.scenes.spans())]
        marks = ([] if findings.anomalies is None
                 else [int(row) for row in findings.anomalies.top(TOP_ANOMALIES)])
        self.timeline.show_findings(scenes, marks)

    def _show_on_timeline(self, trajectory) -> None:
        """The open video's rows on the timeline; in a library, the current video's."""
        with QSignalBlocker(self.timeline):  # the state's frame stays where it is
            if trajectory is None:
                self.timeline.set_frames(np.zeros(0), 25.0)
                return
            library, start, stop, name = self.state.library, 0, len(trajectory), ""
            fps = trajectory.meta.get("video", {}).get("fps") or 25.0
            offset = 0
            if library is not None:
                position = int(library.row_video[self.state.frame])
                (start, stop), name = library.rows_of(position), library.names[position]
                fps, offset = library.fps[position], int(library.offsets[position])
            spans = (np.stack([trajectory.frame_index, trajectory.last_frame],
                              axis=1)[start:stop] - offset if trajectory.is_temporal else None)
            psnr = None if trajectory.psnr_db is None else trajectory.psnr_db[start:stop]
            self.timeline.set_frames(trajectory.time_s[start:stop], fps, psnr, spans,
                                     first_row=start, name=name)
            self.timeline.set_frame(self.state.frame, self.state.within)

    def _show_aspect_lock(self, locked: bool) -> None:
        self._lock_aspect.blockSignals(True)
        self._lock_aspect.setChecked(locked)
        self._lock_aspect.blockSignals(False)

    def _show_history(self) -> None:
        history = self.state.history
        self._undo.setEnabled(history.can_undo)
        self._redo.setEnabled(history.can_redo)
        self._undo.setText(f"&Undo {history.undo_text}".rstrip())
        self._redo.setText(f"&Redo {history.redo_text}".rstrip())

    def _zoom(self, view: FrameView) -> None:
        """A frame view's image in its own window, 1:1 and zoomable."""
        from explorer.ui.zoom_view import ZoomDialog

        if view.frame is not None:
            # a window of its own (no parent): the main window's 1, 2, 3 keys stay out of it
            dialog = ZoomDialog(view.frame, view.title)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self._zooms.add(dialog)
            dialog.destroyed.connect(lambda *_: self._zooms.discard(dialog))
            dialog.show()

    def _show_shortcuts(self) -> None:
        from explorer.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.actions(), self).exec()

    def _show_documentation(self) -> None:
        """The docs folder of a source checkout, or where to find the documents."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from explorer.paths import resources_dir

        docs = resources_dir().parent / "docs"
        if not (docs.is_dir() and QDesktopServices.openUrl(QUrl.fromLocalFile(str(docs)))):
            self.show_error("the documentation is in the docs/ folder of Latent Explorer's "
                            "source, beside README.md", "Documentation")

    def _show_about(self) -> None:
        from explorer.ui.about_dialog import show_about

        show_about(self)

    # --- opening files ----------------------------------------------------------------

    def open_files(self, video: Path, model: Path, trajectory=None,
                   pca_state: dict | None = None, selection: dict | None = None) -> bool:
        """Ask the worker to open ``video`` and ``model`` (encoding the video, unless a
        restored session brings its ``trajectory`` and PCA state). The window changes only
        once both are open: a file that fails leaves it exactly as it was. False, with
        nothing asked, when the user declines to run a code model."""
        trusted = self.code_gate.permits(model, self, ask=self.interactive)
        if not trusted and self.interactive:
            self.show_message(f"Did not open {Path(model).name}: its code was not run")
            return False
        self._opening = (Path(video), Path(model))
        self._show_busy(True)
        self.worker.open(video, model, trajectory, pca_state, trust_code=trusted,
                         selection=selection)
        return True

    def open_dropped(self, path: Path) -> None:
        """A dropped file: a session opens, a model replaces the model, else the video (or
        library)."""
        from explorer.session.document import SUFFIX

        if path.suffix.lower() == SUFFIX:
            if self.sessions.maybe_discard():
                self.sessions.open(path)
        elif path.suffix.lower() in MODEL_SUFFIXES or (path / "config.json").is_file():
            self._replace(self.video, path)  # a model file, or a diffusers folder
        else:
            self.open_video(path)

    def open_video(self, path: Path) -> None:
        """Open a video (or trajectory) with the open model, or a library with its own."""
        from explorer.library.catalog import load_library
        from explorer.library.joined import is_library

        model = self.model
        if is_library(path):
            try:
                model = Path(load_library(path).model.path)
            except ExplorerError as exc:
                self.show_error(str(exc), "Open Library")
                return
            if len(model.parts) > 1 and not model.exists():  # a file or folder, not a plugin
                self.show_error(f"the library's model {model} was not found: open the library, "
                                "then its model with Open Model", "Open Library")
                model = self.model
        self._replace(path, model)

    def _replace(self, video: Path, model: Path, selection: dict | None = None) -> None:
        """Open other files, after asking about unsaved changes."""
        if self.sessions.maybe_discard():
            self.open_files(video, model, selection=selection)

    def _open_recent(self, kind: str, path: Path) -> None:
        if kind == "session":
            if self.sessions.maybe_discard():
                self.sessions.open(Path(path))
        elif kind == "model":
            self._replace(self.video, Path(path))
        else:
            self.open_video(Path(path))

    def _choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Video", str(self.video.parent),
                                              VIDEO_FILTER)
        if path:
            self._replace(Path(path), self.model)

    def _choose_library(self) -> None:
        """A library's folder, made by explorer library encode."""
        path = QFileDialog.getExistingDirectory(self, "Open Library", str(self.video.parent))
        if not path:
            return
        from explorer.library.joined import is_library

        if is_library(Path(path)):
            self.open_video(Path(path))
        else:
            self.show_error(f"{path} is not a library: it has no library.json (make one with "
                            "explorer library encode)", "Open Library")

    def _choose_video_range(self) -> None:
        """A video and which of its frames to encode (start, end, every Nth, at most)."""
        from explorer.ui.video_range_dialog import VideoRangeDialog
        from explorer.video.reader import probe_video

        path, _ = QFileDialog.getOpenFileName(self, "Open Video Range",
                                              str(self.video.parent), VIDEO_FILTER)
        if not path:
            return
        try:
            declared = probe_video(path).declared_frames
        except (ExplorerError, OSError) as exc:
            self.show_error(describe_error(exc))
            return
        dialog = VideoRangeDialog(Path(path), declared, self)
        if dialog.exec():
            self._replace(Path(path), self.model, dialog.selection())

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Model", str(self.model.parent),
                                              MODEL_FILTER)
        if path:
            self._replace(self.video, Path(path))

    def _choose_model_folder(self) -> None:
        """A diffusers autoencoder folder (config.json and safetensors weights)."""
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

    def train_model(self) -> None:
        """Train a model on the open video; open it with the video if the user chooses to
        when training ends (the dialog's Open the New Model), else keep the current one."""
        from explorer.ui.train_dialog import TrainDialog

        dialog = TrainDialog(self.worker, self.video,
                             self.save_locations.folder("model", self.video), self)
        self.worker.failed.disconnect(self.show_error)  # the dialog says why training failed
        try:
            opened = dialog.exec() == TrainDialog.DialogCode.Accepted
        finally:
            self.worker.failed.connect(self.show_error)
        saved = dialog.saved_model
        dialog.deleteLater()  # a child of the window: it would keep listening to the worker
        if saved is not None:
            self.save_locations.remember("model", saved)
            if opened:
                self._replace(self.video, saved)

    # --- keyframes and clips -----------------------------------------------------------

    def _go_to_keyframe(self, keyframe) -> None:
        """A keyframe clicked in the list: its frame on the timeline, or the probe on it."""
        row = None if keyframe.frame is None else self.state.row_of_frame(keyframe.frame)
        if row is not None:
            self.state.set_frame(row)
        else:
            self.state.set_probe(keyframe.latent)

    def add_current_frame_keyframe(self) -> None:
        if self.state.trajectory is not None:
            if self.state.clip.drawn is not None:
                self.show_message("The drawn path gave way to the keyframes (Ctrl+Z brings "
                                  "it back)")
            keyframe = self.state.keyframe_at_row(self.state.frame)
            self.interpolation.remember_picture(keyframe, self.original_view.frame)
            self._add_keyframe(keyframe, f"Add {self.state.describe_frame(keyframe.frame)}")

    def add_probe_keyframe(self) -> None:
        from explorer.latent.keyframes import Keyframe

        if self.state.probe is not None:
            keyframe = Keyframe(self.state.probe.copy())
            self.interpolation.remember_picture(keyframe, self.cursor_view.frame)
            self._add_keyframe(keyframe, "Add probe")

    def _add_keyframe(self, keyframe, text: str) -> None:
        clip = self.state.clip
        self.state.edit_clip(clip.with_keyframes((*clip.keyframes, keyframe)), text)

    def export_clip(self) -> None:
        """Ask where and how, then export the clip on the worker."""
        from explorer.pipeline.export import build_recipe
        from explorer.ui.export_dialog import ExportDialog
        from explorer.ui.worker import ExportClip

        state = self.state
        path = state.clip_path
        if path is None:
            QMessageBox.information(
                self, "Export Clip",
                "Add two or more keyframes, or draw a path on the map (Shift+drag), first.")
            return
        folder = self.save_locations.folder("clip", self.video)
        dialog = ExportDialog(folder / f"{self.video.stem}_clip", state.export,
                              state.interpolation.fps, self)
        if not dialog.exec():
            return
        self.save_locations.remember("clip", dialog.output_path())
        state.set_export(dialog.choices())
        settings = state.export.settings(state.interpolation.fps, overwrite=dialog.overwrite)
        drawn = state.clip.drawn is not None
        keyframes = () if drawn else state.clip.keyframes
        library = state.library
        recipe = build_recipe(
            path.latents, settings,
            keyframes=keyframes if library is None else library.recipe_keyframes(keyframes),
            method=None if drawn else state.interpolation.method,
            easing=None if drawn else state.interpolation.easing,
            model=self.model,
            model_identity=state.trajectory.meta.get("model", {}).get("sha256"),
            video=None if library is not None else self.video,
        )
        if library is not None:  # the keyframes' frames are their own videos'
            recipe.settings.update(library.recipe_settings(keyframes))
        self._show_busy(True)
        self.worker.export(ExportClip(recipe, list(path.frames), dialog.output_path(), settings))

    def export_map(self) -> None:
        """The map as drawn, as a PNG or SVG picture."""
        from explorer.ui.map_export import MAP_FILTER, ask_path, export_map

        if self.state.trajectory is None:
            return
        folder = self.save_locations.folder("map", self.video)
        path = ask_path(self, "Export Map", folder / f"{self.video.stem}_map.png", MAP_FILTER)
        if path is not None:
            self._write_file(lambda: export_map(self.latent_map, path), "map")

    def export_table(self) -> None:
        """The trajectory's table (frames, times, map positions, PSNR, scenes, scores)."""
        from explorer.ui.map_export import TABLE_FILTER, ask_path, export_table

        if self.state.trajectory is None:
            return
        folder = self.save_locations.folder("map", self.video)
        path = ask_path(self, "Export Trajectory Table", folder / f"{self.video.stem}.csv",
                        TABLE_FILTER)
        if path is not None:
            self._write_file(lambda: export_table(self.state, path), "map")

    def _write_file(self, write, kind: str) -> None:
        try:
            written = write()
        except (ExplorerError, OSError) as exc:
            self.show_error(f"could not write the file: {describe_error(exc)}")
            return
        self.save_locations.remember(kind, written)
        self.show_message(f"Wrote {written}")

    # --- worker answers ---------------------------------------------------------------

    def _on_opened(self, video: str, model: str) -> None:
        """Both files are open on the worker: what was shown goes."""
        self.video, self.model, self._files_open = Path(video), Path(model), True
        self._ready_sent = False
        if self.sessions.pending is None:
            self.sessions.forget_path()  # a new, unsaved document
        self.state.close()

    def _on_model_ready(self, info: dict) -> None:
        self._model_info = info
        self.device_label.setText(info["device_label"])
        self.model_label.setText(model_name(info))
        self.model_panel.show_model(info, self.video)
        self.device_menu.set_available(info["devices"])
        self.device_menu.set_current(info["device_choice"])
        self.state.set_model_info(info)

    def _on_job_progress(self, done: int, expected: int) -> None:
        if expected > 0:
            self._progress.setRange(0, expected)
            self._progress.setValue(min(done, expected))

    def _on_trajectory_ready(self, trajectory, pca) -> None:
        self._opening = None
        self.state.open(LoadedVideo(self.video, trajectory),
                        LoadedModel(self.model, self._model_info), pca)
        if self.video.is_file() or self.state.library is not None:  # not a missing video
            self.recent.add("video", self.video)
        self.recent.add("model", self.model)
        self._warning = reconstruction_warning(trajectory, self._model_info)
        self.model_panel.show_warning(self._warning)  # the status bar: once the job ends
        wanted = self.sessions.pending.projection_kind if self.sessions.pending else None
        self.sessions.apply_pending()
        if wanted is not None and wanted != self.state.projection_kind:
            self.projection_bar.request(wanted)  # a re-encoded session's UMAP: fit again

    def _save_traversal(self, fields: tuple, output: str) -> None:
        from explorer.ui.worker import RenderTraversal

        self._show_busy(True)
        self.worker.traverse(RenderTraversal(*fields, output))

    def _on_layouts_ready(self, layouts: dict) -> None:
        """A library's stored layouts, beside the PCA it opened with."""
        for projection in layouts.values():
            self.state.add_layout(projection)

    def _on_frame_shown(self) -> None:
        if not self._ready_sent:
            self._ready_sent = True
            if self.state.probe is None:
                self.map_binding.probe_to_current()
            self.ready.emit()

    def _on_open_failed(self, video: str, model: str) -> None:
        if self._opening == (Path(video), Path(model)):  # not an open since replaced
            self._opening = None
            self.sessions.open_failed()

    def _on_job_finished(self, outcome: str) -> None:
        self._show_busy(False)
        if self._warning:
            self.show_message(self._warning, ERROR_S)
            self._warning = None
        if outcome == "cancelled" and self.state.trajectory is None:
            self.show_message("Encoding cancelled")

    def _on_clip_exported(self, path: str) -> None:
        self.show_message(f"Exported {path}")

    # --- feedback ---------------------------------------------------------------------

    def show_message(self, message: str, seconds: float = MESSAGE_S) -> None:
        """A line in the status bar, gone after ``seconds`` (unless another replaces it)."""
        self._activity.setText(message)
        self._activity_timer.start(round(seconds * 1000))

    def show_error(self, message: str, title: str = "Latent Explorer") -> None:
        """A dialog (in interactive use) and the status bar for a while: never a traceback."""
        self.show_message(message, ERROR_S)
        if self.interactive:
            QMessageBox.warning(self, title, message)

    def _show_busy(self, busy: bool) -> None:
        if busy:
            self._progress.setRange(0, 0)
        self._progress.setVisible(busy)
        self._cancel.setVisible(busy)

    def _update_title(self) -> None:
        """``session* — video — Latent Explorer``, or ``video* — …`` before a Save."""
        names = [path.name for path in (self.sessions.path,
                                        self.video if self._files_open else None) if path]
        if names:
            names[0] += "*" if self.sessions.dirty else ""
        self.setWindowTitle(" — ".join([*names, "Latent Explorer"]))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange):
            from explorer.ui.app import recolour_plots

            recolour_plots(self)  # the desktop went dark, or light
        super().changeEvent(event)

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
