"""The main window: latent map in the centre, frame views beside it, timeline below."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.frame_view import FrameView
from explorer.ui.latent_map import LatentMap
from explorer.ui.timeline import Timeline
from explorer.ui.worker import FramePreview, WorkerThread

MODEL_SUFFIXES = {".safetensors"}
VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.webm *.mkv *.avi *.gif);;All files (*)"
MODEL_FILTER = "Latent Explorer models (*.safetensors);;All files (*)"


class MainWindow(QMainWindow):
    """Shows one video's latent trajectory; all model work happens on the worker."""

    ready = Signal()
    """The trajectory is on the map and the first frame views are painted."""

    def __init__(self, video: Path, model: Path, show_errors: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("Latent Explorer")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._video, self._model = video, model
        self._show_errors = show_errors
        self._latest_stamp = 0
        self._trajectory = None
        self._ready_sent = False

        self.latent_map = LatentMap()
        self.original_view = FrameView("Original", "loading…")
        self.reconstruction_view = FrameView("Reconstruction", "loading…")
        self.timeline = Timeline()
        self._model_info = QFormLayout()
        self._build_layout()
        self._build_menus()
        self._build_status_bar()

        self._worker_thread = WorkerThread()
        self.worker = self._worker_thread.worker
        self.worker.status.connect(self._activity.setText)
        self.worker.modelReady.connect(self._on_model_ready)
        self.worker.encodeProgress.connect(self._on_encode_progress)
        self.worker.trajectoryReady.connect(self._on_trajectory_ready)
        self.worker.previewReady.connect(self._on_preview)
        self.worker.failed.connect(self._on_failed)
        self.timeline.frameChanged.connect(self._on_frame_changed)
        self.latent_map.frameClicked.connect(self.timeline.set_frame)

    def start(self) -> None:
        """Begin loading the model and encoding the video (on the worker)."""
        self._open(self._video, self._model)

    # --- layout -----------------------------------------------------------------------

    def _build_layout(self) -> None:
        views = QWidget()
        views_layout = QVBoxLayout(views)
        views_layout.setContentsMargins(0, 0, 0, 0)
        views_layout.addWidget(self.original_view, 1)
        views_layout.addWidget(self.reconstruction_view, 1)

        info = QWidget()
        info.setLayout(self._model_info)
        self._model_info.setContentsMargins(6, 6, 6, 6)

        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(views)
        side.addWidget(info)
        side.setStretchFactor(0, 4)
        side.setStretchFactor(1, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.latent_map)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 500])

        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(centre)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(
            file_menu, "Open &Video…", QKeySequence.StandardKey.Open, self._choose_video
        )
        self._add_action(file_menu, "Open &Model…", "Ctrl+M", self._choose_model)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

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
        self._add_action(view_menu, "Reset Map View", "Ctrl+0", self.latent_map.autoRange)

    def _add_action(self, menu, text: str, shortcut, slot) -> QAction:
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
        self._cancel.clicked.connect(self.worker_cancel)
        self.device_label = QLabel("")
        bar.addWidget(self._activity, 1)
        bar.addPermanentWidget(self._progress)
        bar.addPermanentWidget(self._cancel)
        bar.addPermanentWidget(self.device_label)

    # --- opening files ----------------------------------------------------------------

    def _open(self, video: Path, model: Path) -> None:
        self._video, self._model = video, model
        self.setWindowTitle(f"{video.name} — Latent Explorer")
        self._trajectory = None
        self.original_view.clear()
        self.reconstruction_view.clear()
        self._progress.setRange(0, 0)
        self._progress.setVisible(True)
        self._cancel.setVisible(True)
        self.worker.open(video, model)

    def worker_cancel(self) -> None:
        self.worker.cancel()

    def _choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Video", str(self._video.parent), VIDEO_FILTER
        )
        if path:
            self._open(Path(path), self._model)

    def _choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Model", str(self._model.parent), MODEL_FILTER
        )
        if path:
            self._open(self._video, Path(path))

    def open_dropped(self, path: Path) -> None:
        """A file dropped on the window: a model replaces the model, anything else the video."""
        if path.suffix.lower() in MODEL_SUFFIXES:
            self._open(self._video, path)
        else:
            self._open(path, self._model)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        local = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if local:
            self.open_dropped(Path(local[0]))
            event.acceptProposedAction()

    # --- worker answers ---------------------------------------------------------------

    def _on_model_ready(self, info: dict) -> None:
        self.device_label.setText(info["device_label"])
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
        rows.append(("Video", self._video.name))
        for label, value in rows:
            self._model_info.addRow(f"{label}:", QLabel(value))

    def _on_encode_progress(self, done: int, expected: int) -> None:
        if expected > 0:
            self._progress.setRange(0, expected)
            self._progress.setValue(min(done, expected))
        self._activity.setText(f"Encoding {self._video.name}… {done} frames")

    def _on_trajectory_ready(self, trajectory) -> None:
        self._trajectory = trajectory
        self._progress.setVisible(False)
        self._cancel.setVisible(False)
        self.latent_map.set_trajectory(trajectory.embedding, trajectory.time_s)
        self.timeline.set_frames(trajectory.time_s, trajectory.meta["video"]["fps"])
        self._activity.setText(f"{len(trajectory)} frames encoded")

    def _on_frame_changed(self, index: int) -> None:
        if self._trajectory is None:
            return
        self.latent_map.set_current(index)
        self._latest_stamp = self.worker.request_preview(index)

    def _on_preview(self, preview: FramePreview) -> None:
        if preview.stamp < self._latest_stamp:
            return  # an older request answered late: never paint it
        frame_number = int(self._trajectory.frame_index[preview.index])
        self.original_view.set_frame(preview.original, f"frame {frame_number}")
        self.reconstruction_view.set_frame(preview.reconstruction, "decoded from μ")
        if not self._ready_sent:
            self._ready_sent = True
            self.ready.emit()

    def _on_failed(self, message: str) -> None:
        self._progress.setVisible(False)
        self._cancel.setVisible(False)
        self._activity.setText(message)
        if self._show_errors:
            QMessageBox.warning(self, "Latent Explorer", message)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.timeline.playing:
            self.timeline.toggle_play()
        self._worker_thread.close()
        super().closeEvent(event)
