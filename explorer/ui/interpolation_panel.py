"""The interpolation studio: keyframes, how to travel between them, preview and export.

Keyframes are video frames (K, or a right-click on a map point) or probe positions (a latent
that is no frame). The list can be reordered by dragging and trimmed with Delete. The path
is rebuilt whenever anything changes and announced with ``pathChanged``; the main window
draws it on the map and the preview plays it in the cursor view. A path drawn freehand on
the map (Shift+drag) replaces the keyframe path until the keyframes change again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut
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

from explorer.errors import ExplorerError
from explorer.latent.keyframes import ClipPath, Keyframe, clip_path
from explorer.ui.images import to_qimage

THUMBNAIL = 48


@dataclass(frozen=True)
class PanelState:
    """The undoable part of the panel: its keyframes (with their icons) and a drawn path."""

    keyframes: tuple[tuple[Keyframe, QIcon], ...]
    drawn: np.ndarray | None


class InterpolationPanel(QWidget):
    """Holds the keyframes and the clip settings; emits the path they make."""

    pathChanged = Signal(object)  # ClipPath, or None when there is no path
    edited = Signal(object, str)  # the PanelState before a user's edit, and what it was
    settingsChanged = Signal()
    previewStep = Signal(int, object)  # step, latent [D]
    previewFinished = Signal()
    exportRequested = Signal()
    addFrameRequested = Signal()
    addProbeRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.keyframes: list[Keyframe] = []
        self.path: ClipPath | None = None
        self._drawn: ClipPath | None = None
        self._state = PanelState((), None)

        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.list.setMinimumHeight(3 * (THUMBNAIL + 6))
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.model().rowsMoved.connect(self._on_rows_moved)
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.list)
        delete.activated.connect(self.remove_selected)

        add_frame = QPushButton("Add Frame (K)")
        add_frame.setToolTip("Add the current frame as a keyframe")
        add_frame.clicked.connect(self.addFrameRequested)
        add_probe = QPushButton("Add Probe")
        add_probe.setToolTip("Add the probe's position: a latent that is no frame")
        add_probe.clicked.connect(self.addProbeRequested)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for button in (add_frame, add_probe, remove, clear):
            buttons.addWidget(button)

        self.method = QComboBox()
        for method, label in (
            ("slerp", "spherical (slerp)"),
            ("lerp", "linear (lerp)"),
            ("spline", "smooth spline"),
        ):
            self.method.addItem(label, method)
        self.easing = QComboBox()
        for easing in ("linear", "ease-in-out", "ease-in", "ease-out"):
            self.easing.addItem(easing, easing)
        self.seconds = QDoubleSpinBox(
            minimum=0.1, maximum=600.0, value=2.0, singleStep=0.5, suffix=" s"
        )
        self.fps = QDoubleSpinBox(minimum=1.0, maximum=120.0, value=24.0, suffix=" fps")
        self.steps_label = QLabel("")
        for widget in (self.method, self.easing):
            widget.currentIndexChanged.connect(self._on_settings_changed)
        for spin in (self.seconds, self.fps):
            spin.valueChanged.connect(self._on_settings_changed)
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
        self.preview_button.setCheckable(True)
        self.preview_button.toggled.connect(self._on_preview_toggled)
        self.export_button = QPushButton("Export Clip…")
        self.export_button.clicked.connect(self.exportRequested)
        actions = QHBoxLayout()
        actions.addWidget(self.preview_button)
        actions.addWidget(self.export_button)

        self.message = QLabel("Add two or more keyframes, or Shift+drag on the map to draw a path.")
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
        self._rebuild()

    @property
    def steps(self) -> int:
        return max(2, round(self.seconds.value() * self.fps.value()))

    def add(self, keyframe: Keyframe, picture: np.ndarray | None = None) -> None:
        icon = _icon(picture) if picture is not None else QIcon()
        self.list.addItem(self._item(keyframe, icon))
        self._sync_from_list(f"Add {self._label(keyframe)}")

    def snapshot(self) -> PanelState:
        return self._state

    def restore(self, state: PanelState) -> None:
        """Show ``state`` (for undo/redo and sessions) without reporting it as an edit."""
        self.list.clear()
        for keyframe, icon in state.keyframes:
            self.list.addItem(self._item(keyframe, icon))
        self._read_list()
        self._drawn = None if state.drawn is None else _drawn_path(state.drawn)
        self._state = state
        self._rebuild()

    def settings(self) -> dict:
        return {"method": self.method.currentData(), "easing": self.easing.currentData(),
                "seconds": self.seconds.value(), "fps": self.fps.value()}

    def apply_settings(self, settings: dict) -> None:
        for combo, key in ((self.method, "method"), (self.easing, "easing")):
            index = combo.findData(settings.get(key))
            if index >= 0:
                combo.setCurrentIndex(index)
        for spin, key in ((self.seconds, "seconds"), (self.fps, "fps")):
            if isinstance(settings.get(key), int | float):
                spin.setValue(float(settings[key]))

    def _item(self, keyframe: Keyframe, icon: QIcon) -> QListWidgetItem:
        item = QListWidgetItem(icon, self._label(keyframe))
        item.setData(Qt.ItemDataRole.UserRole, keyframe)
        return item

    def set_thumbnail(self, frame: int, image: np.ndarray) -> None:
        """Give every keyframe of video frame ``frame`` its picture."""
        icon = _icon(image)
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole).frame == frame:
                item.setIcon(icon)
        self._state = PanelState(
            tuple((k, icon if k.frame == frame else i) for k, i in self._state.keyframes),
            self._state.drawn,
        )

    def remove_selected(self) -> None:
        selected = self.list.selectedItems()
        for item in selected:
            self.list.takeItem(self.list.row(item))
        if selected:
            self._sync_from_list("Remove keyframe")

    def clear(self) -> None:
        """Remove every keyframe and any drawn path (an undoable edit)."""
        if self.list.count() or self._drawn is not None:
            self.list.clear()
            self._sync_from_list("Clear keyframes")

    def set_drawn_path(self, latents: np.ndarray) -> None:
        """Use a freehand path (already mapped to latents) as the clip."""
        before = self._state
        self._drawn = _drawn_path(latents)
        self._state = PanelState(self._state.keyframes, self._drawn.latents)
        self._rebuild()
        self.edited.emit(before, "Draw path")

    def _label(self, keyframe: Keyframe) -> str:
        if keyframe.frame is not None:
            return f"frame {keyframe.frame}"
        return "probe latent"

    def _on_rows_moved(self, *_args) -> None:
        self._sync_from_list("Reorder keyframes")

    def _sync_from_list(self, description: str) -> None:
        """After a user's edit of the list: the keyframes make the path again."""
        before = self._state
        self._read_list()
        self._drawn = None
        icons = [self.list.item(row).icon() for row in range(self.list.count())]
        self._state = PanelState(tuple(zip(self.keyframes, icons, strict=True)), None)
        self._rebuild()
        self.edited.emit(before, description)

    def _read_list(self) -> None:
        self.keyframes = [
            self.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.list.count())
        ]

    def _on_settings_changed(self) -> None:
        self._rebuild()
        self.settingsChanged.emit()

    def _rebuild(self) -> None:
        self.steps_label.setText(f"= {self.steps} frames")
        self._stop_preview()
        if self._drawn is not None:
            self.path = self._drawn
            self.message.setText(f"Drawn path: {len(self.path.latents)} frames.")
        elif len(self.keyframes) >= 2:
            try:
                self.path = clip_path(
                    self.keyframes, self.steps, self.method.currentData(), self.easing.currentData()
                )
                self.message.setText(f"{len(self.keyframes)} keyframes, {self.steps} frames.")
            except ExplorerError as exc:
                self.path = None
                self.message.setText(str(exc))
        else:
            self.path = None
            self.message.setText(
                "Add two or more keyframes, or Shift+drag on the map to draw a path."
            )
        self.preview_button.setEnabled(self.path is not None)
        self.export_button.setEnabled(self.path is not None)
        self.pathChanged.emit(self.path)

    def _on_preview_toggled(self, playing: bool) -> None:
        if playing and self.path is not None:
            self._preview_step = 0
            self._preview_timer.start(max(1, round(1000 / self.fps.value())))
        else:
            self._stop_preview()

    def _preview_next(self) -> None:
        if self.path is None or self._preview_step >= len(self.path.latents):
            self._stop_preview()
            self.previewFinished.emit()
            return
        self.previewStep.emit(self._preview_step, self.path.latents[self._preview_step])
        self._preview_step += 1

    def _stop_preview(self) -> None:
        self._preview_timer.stop()
        if self.preview_button.isChecked():
            self.preview_button.blockSignals(True)
            self.preview_button.setChecked(False)
            self.preview_button.blockSignals(False)


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


def _drawn_path(latents: np.ndarray) -> ClipPath:
    return ClipPath(np.asarray(latents, np.float32), [None] * len(latents))
