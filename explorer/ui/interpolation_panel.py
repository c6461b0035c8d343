"""The interpolation studio: keyframes, how to travel between them, preview and export.

Keyframes are video frames (K, or a right-click on a map point) or probe positions (a latent
that is no frame). The list can be reordered by dragging and trimmed with Delete. The panel
shows the state's clip (:class:`~explorer.state.app.Clip`) and interpolation settings;
what the user does here becomes an edit of the state, and the panel redraws when the state
changes (an edit, undo, a session). The preview plays the clip's path in the cursor view.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.latent.interpolate import EASING_NAMES, METHOD_LABELS, METHODS, path_latents
from explorer.latent.keyframes import ClipPath, Keyframe
from explorer.state.app import AppState, Clip
from explorer.state.settings import FPS, SECONDS, InterpolationSettings
from explorer.ui.images import to_qimage

THUMBNAIL = 64
"""Pictures are made this large; the list shows them smaller when it is short."""
SMALLEST_ICON = 26
ROWS_AT_LEAST = 3


class InterpolationPanel(QWidget):
    """The keyframe list, the clip settings, Preview and Export, bound to an AppState."""

    previewStep = Signal(int, int, object)  # step, steps, latent [D]
    previewFinished = Signal()
    previewStopped = Signal()  # finished, or stopped by the user or an edit
    exportRequested = Signal()
    addFrameRequested = Signal()
    addProbeRequested = Signal()
    thumbnailWanted = Signal(int)  # a keyframe of this video frame has no picture yet
    keyframeChosen = Signal(object)  # Keyframe: the user clicked it in the list

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self._icons: dict[int, QIcon] = {}
        """Pictures by video frame number, or by ``id()`` of a probe keyframe (negated)."""

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.list.setMinimumHeight(ROWS_AT_LEAST * (SMALLEST_ICON + 6))
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.model().rowsMoved.connect(self._on_rows_moved)
        self.list.itemClicked.connect(
            lambda item: self.keyframeChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.list.setToolTip("Click a keyframe to go to it; drag to reorder; Delete removes")
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.list)
        delete.activated.connect(self.remove_selected)

        self.add_frame_button = QPushButton("Add Frame (K)")
        self.add_frame_button.setToolTip("Add the current frame as a keyframe (K)")
        self.add_frame_button.clicked.connect(self.addFrameRequested)
        self.add_probe_button = QPushButton("Add Probe")
        self.add_probe_button.setToolTip("Add the probe's position: a latent that is no frame")
        self.add_probe_button.clicked.connect(self.addProbeRequested)
        remove = QPushButton("Remove")
        remove.setToolTip("Remove the selected keyframes (Delete)")
        remove.clicked.connect(self.remove_selected)
        clear = QPushButton("Clear")
        clear.setToolTip("Remove every keyframe and the drawn path (undoable)")
        clear.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for button in (self.add_frame_button, self.add_probe_button, remove, clear):
            buttons.addWidget(button)

        self.method = QComboBox()
        for method in METHODS:
            self.method.addItem(METHOD_LABELS[method], method)
        self.method.setToolTip("How the clip travels between keyframes: along great circles "
                               "(slerp, for Gaussian latents), straight lines, or a smooth "
                               "spline through all of them")
        self.easing = QComboBox()
        self.easing.setToolTip("How the clip's speed changes from start to end")
        for easing in EASING_NAMES:
            self.easing.addItem(easing, easing)
        self.seconds = QDoubleSpinBox(minimum=SECONDS[0], maximum=SECONDS[1], singleStep=0.5,
                                      suffix=" s")
        self.fps = QDoubleSpinBox(minimum=FPS[0], maximum=FPS[1], suffix=" fps")
        self.steps_label = QLabel("")
        self._show_settings()
        for widget in (self.method, self.easing):
            widget.currentIndexChanged.connect(self._on_settings_edited)
        for spin in (self.seconds, self.fps):
            spin.valueChanged.connect(self._on_settings_edited)
        form = QGridLayout()
        form.addWidget(QLabel("Method:"), 0, 0)
        form.addWidget(self.method, 0, 1)
        form.addWidget(QLabel("Easing:"), 0, 2)
        form.addWidget(self.easing, 0, 3)
        form.addWidget(QLabel("Duration:"), 1, 0)
        form.addWidget(self.seconds, 1, 1)
        form.addWidget(QLabel("at"), 1, 2)
        form.addWidget(self.fps, 1, 3)
        form.addWidget(self.steps_label, 1, 4)

        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Play the clip in the Cursor view, and along the map")
        self.preview_button.setCheckable(True)
        self.preview_button.toggled.connect(self._on_preview_toggled)
        self.export_button = QPushButton("Export Clip…")
        self.export_button.clicked.connect(self.exportRequested)
        actions = QHBoxLayout()
        actions.addWidget(self.preview_button)
        actions.addWidget(self.export_button)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(self.message)

        self._preview_timer = QTimer(self)
        self._preview_timer.timeout.connect(self._preview_next)
        self._preview_step = 0
        self._show_path()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Icons shrink in a short list so that it always shows three keyframes or more."""
        super().resizeEvent(event)
        side = max(SMALLEST_ICON, min(THUMBNAIL, self.list.height() // ROWS_AT_LEAST - 8))
        self.list.setIconSize(QSize(side, side))

    # --- what the state holds -----------------------------------------------------------

    @property
    def keyframes(self) -> list[Keyframe]:
        return list(self.state.clip.keyframes)

    @property
    def path(self) -> ClipPath | None:
        return self.state.clip_path

    @property
    def steps(self) -> int:
        return self.state.interpolation.steps

    def on_state_changed(self, aspect: str) -> None:
        if aspect == "documents":
            self._icons.clear()
        if aspect in ("documents", "clip"):
            self._show_keyframes()
        if aspect == "projection":  # probe keyframes are labelled with their map position
            self._label_keyframes()
        if aspect == "interpolation":
            self._show_settings()
        if aspect in ("documents", "clip", "interpolation"):
            self._show_path()

    def _show_keyframes(self) -> None:
        keyframes = self.state.clip.keyframes
        shown = [self.list.item(row).data(Qt.ItemDataRole.UserRole)
                 for row in range(self.list.count())]
        if len(shown) != len(keyframes) or any(a is not b for a, b in zip(shown, keyframes,
                                                                          strict=False)):
            self.list.clear()  # not after a drag in the list: it shows the order already
            for keyframe in keyframes:
                item = QListWidgetItem(self._icon_of(keyframe), "")
                item.setData(Qt.ItemDataRole.UserRole, keyframe)
                self.list.addItem(item)
            self._label_keyframes()
        for keyframe in keyframes:
            if keyframe.frame is not None and keyframe.frame not in self._icons:
                self.thumbnailWanted.emit(keyframe.frame)

    def _label_keyframes(self) -> None:
        projection = self.state.projection
        for row in range(self.list.count()):
            item = self.list.item(row)
            keyframe = item.data(Qt.ItemDataRole.UserRole)
            if keyframe.frame is not None:
                item.setText(self.state.describe_frame(keyframe.frame))
            elif projection is None:
                item.setText("probe latent")
            else:
                x, y = projection.project_new(keyframe.latent[None])[0]
                item.setText(f"probe latent at ({x:.2f}, {y:.2f})")

    def _show_settings(self) -> None:
        settings = self.state.interpolation
        for widget in (self.method, self.easing, self.seconds, self.fps):
            widget.blockSignals(True)
        self.method.setCurrentIndex(self.method.findData(settings.method))
        self.easing.setCurrentIndex(self.easing.findData(settings.easing))
        self.seconds.setValue(settings.seconds)
        self.fps.setValue(settings.fps)
        for widget in (self.method, self.easing, self.seconds, self.fps):
            widget.blockSignals(False)

    def _show_path(self) -> None:
        rule = self.state.frame_rule
        latents = path_latents(self.steps, rule)
        frames = latents if rule is None else rule.frames_for(latents)
        self.steps_label.setText(f"= {frames} frames")
        self._stop_preview()
        self.message.setText(self.state.clip_message)
        self.preview_button.setEnabled(self.path is not None)
        self.export_button.setEnabled(self.path is not None)

    # --- pictures -----------------------------------------------------------------------

    def remember_picture(self, keyframe: Keyframe, picture: np.ndarray | None) -> None:
        """The picture to show for ``keyframe`` once it is added."""
        if picture is not None:
            self._icons[_icon_key(keyframe)] = _icon(picture)

    def set_thumbnail(self, frame: int, image: np.ndarray) -> None:
        """Give every keyframe of video frame ``frame`` its picture."""
        icon = self._icons[frame] = _icon(image)
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole).frame == frame:
                item.setIcon(icon)

    def _icon_of(self, keyframe: Keyframe) -> QIcon:
        return self._icons.get(_icon_key(keyframe), QIcon())

    # --- the user's edits ---------------------------------------------------------------

    def remove_selected(self) -> None:
        selected = {id(item.data(Qt.ItemDataRole.UserRole)) for item in self.list.selectedItems()}
        if selected:
            kept = tuple(k for k in self.state.clip.keyframes if id(k) not in selected)
            self.state.edit_clip(self.state.clip.with_keyframes(kept), "Remove keyframe")

    def clear(self) -> None:
        """Remove every keyframe and any drawn path (an undoable edit)."""
        if self.state.clip.keyframes or self.state.clip.drawn is not None:
            self.state.edit_clip(Clip(), "Clear keyframes")

    def _on_rows_moved(self, *_args) -> None:
        order = tuple(self.list.item(row).data(Qt.ItemDataRole.UserRole)
                      for row in range(self.list.count()))
        self.state.edit_clip(self.state.clip.with_keyframes(order), "Reorder keyframes")

    def _on_settings_edited(self) -> None:
        self.state.set_interpolation(InterpolationSettings(
            method=self.method.currentData(), easing=self.easing.currentData(),
            seconds=self.seconds.value(), fps=self.fps.value()))

    # --- preview ------------------------------------------------------------------------

    def _on_preview_toggled(self, playing: bool) -> None:
        if playing and self.path is not None:
            self._preview_step = 0
            self.preview_button.setText("Stop")
            rule = self.state.frame_rule
            frames = 1 if rule is None else rule.stride  # a step's, after the first
            self._preview_timer.start(
                max(1, round(1000 * frames / self.state.interpolation.fps)))
        else:
            self._stop_preview()

    def _preview_next(self) -> None:
        path = self.path
        if path is None or self._preview_step >= len(path.latents):
            self._stop_preview()
            self.previewFinished.emit()
            return
        self.previewStep.emit(self._preview_step, len(path.latents),
                              path.latents[self._preview_step])
        self._preview_step += 1
        unit = "frame" if self.state.frame_rule is None else "latent step"
        self.message.setText(f"Preview: {unit} {self._preview_step} of {len(path.latents)}")

    def _stop_preview(self) -> None:
        if not self._preview_timer.isActive() and not self.preview_button.isChecked():
            return
        self._preview_timer.stop()
        self.preview_button.blockSignals(True)
        self.preview_button.setChecked(False)
        self.preview_button.blockSignals(False)
        self.preview_button.setText("Preview")
        self.message.setText(self.state.clip_message)
        self.previewStopped.emit()


def _icon_key(keyframe: Keyframe) -> int:
    return keyframe.frame if keyframe.frame is not None else -id(keyframe)


def _icon(picture: np.ndarray) -> QIcon:
    pixmap = QPixmap.fromImage(to_qimage(picture))
    return QIcon(
        pixmap.scaled(
            THUMBNAIL,
            THUMBNAIL,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    )
