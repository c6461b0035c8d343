"""The Traverse tab: a slider for each latent axis (a dimension, or for image-shaped
latents a principal direction), most used first, dead ones marked. The sliders start at
the current frame's latent; moving one moves the probe there (so the Cursor view decodes
it, latest wins, and the map shows where it is). *Save Traversal* writes the classic grid
(rows = axes, columns = values) or an animated sweep, on the worker."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.state.app import AppState
from explorer.ui.sliders import KeyedSlider

TICKS = 10
"""Slider positions per standard deviation."""
REACH = 3
"""How far the sliders go each way, in standard deviations."""
TRAVERSAL_FILTER = "Grid image (*.png);;MP4 clip (*.mp4);;WebM clip (*.webm);;GIF (*.gif)"


class TraversalPanel(QWidget):
    """See the module docstring."""

    renderRequested = Signal(object, str)  # the axes and a TraversalRequest's fields; path

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self._axes: Any = None
        self._axes_of: Any = None  # the trajectory the axes are of
        self._base: np.ndarray | None = None  # the latent the sliders stand for
        self._before: np.ndarray | None = None  # the probe when a slider was grabbed
        self.sliders: list[QSlider] = []
        self._values: list[QLabel] = []
        self.header = QLabel("")
        self.header.setWordWrap(True)
        self._rows = QWidget()
        self._grid = QGridLayout(self._rows)
        self._grid.setColumnStretch(1, 1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._rows)
        self.reset_button = QPushButton("Back to Frame")
        self.reset_button.setToolTip("Put the sliders (and the probe) back on the current frame")
        self.reset_button.clicked.connect(self.reset)
        self.steps = QSpinBox(minimum=2, maximum=61, value=7)
        self.steps.setToolTip("Values along each axis in the saved traversal")
        self.reach = QDoubleSpinBox(minimum=0.1, maximum=10.0, value=3.0, singleStep=0.5,
                                    suffix=" sd")
        self.reach.setToolTip("How far the saved traversal goes each way, in the video's "
                              "standard deviations along each axis")
        self.save_button = QPushButton("Save Traversal…")
        self.save_button.setToolTip("The grid (rows: axes, columns: values) as a PNG, or "
                                    "every axis sweeping together as a clip")
        self.save_button.clicked.connect(self.choose_output)
        options = QHBoxLayout()
        options.addWidget(self.reset_button)
        options.addStretch(1)
        options.addWidget(QLabel("Steps"))
        options.addWidget(self.steps)
        options.addWidget(QLabel("Range ±"))
        options.addWidget(self.reach)
        options.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        layout.addLayout(options)

    @property
    def axes(self) -> Any:
        """The open trajectory's axes (:class:`~explorer.analysis.traversal.TraversalAxes`),
        found the first time they are needed."""
        trajectory = self.state.trajectory
        if trajectory is not None and self._axes_of is not trajectory:
            from explorer.analysis.traversal import traversal_axes

            self._axes, self._axes_of = traversal_axes(trajectory), trajectory
        return self._axes

    def on_state_changed(self, aspect: str) -> None:
        if aspect == "documents":
            self._build_sliders()
        elif aspect == "frame" and self.isVisible():
            self.reset(move_probe=False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.state.trajectory is not None and not self.sliders:
            self._build_sliders()

    def _build_sliders(self) -> None:
        for widget in self._rows.findChildren(QWidget):
            widget.deleteLater()
        self.sliders, self._values, self._base = [], [], None
        if self.state.trajectory is None or not self.isVisible():
            self.header.setText("" if self.state.trajectory else "No video open.")
            self._enable()
            return
        axes = self.axes
        from explorer.analysis.traversal import MAX_ROWS

        shown = min(len(axes.number), MAX_ROWS)
        self.header.setText(
            f"{shown} {axes.kind}s, most used first (by {axes.measure}); "
            f"{int(axes.dead[:shown].sum())} dead. The sliders start at the current frame.")
        for axis in range(shown):
            self._add_row(axis)
        self.reset(move_probe=False)
        self._enable()

    def _add_row(self, axis: int) -> None:
        axes = self.axes
        name = QLabel(axes.label(axis) + ("  dead" if axes.dead[axis] else ""))
        name.setToolTip(f"{axes.kind} {axes.number[axis]}: {axes.measure} "
                        f"{axes.importance[axis]:.3g}" + (", dead: the video does not move "
                                                          "along it" if axes.dead[axis] else ""))
        if axes.dead[axis]:
            name.setEnabled(False)
        slider = KeyedSlider()
        slider.setRange(-REACH * TICKS, REACH * TICKS)
        slider.setPageStep(TICKS // 2)
        slider.valueChanged.connect(lambda value, a=axis: self._slide(a, value))
        slider.sliderPressed.connect(self._grab)
        slider.sliderReleased.connect(self._let_go)
        value = QLabel("")
        value.setMinimumWidth(60)
        self._grid.addWidget(name, axis, 0)
        self._grid.addWidget(slider, axis, 1)
        self._grid.addWidget(value, axis, 2)
        self.sliders.append(slider)
        self._values.append(value)

    def _enable(self) -> None:
        ready = bool(self.sliders)
        for widget in (self.reset_button, self.save_button, self.steps, self.reach):
            widget.setEnabled(ready)

    def reset(self, move_probe: bool = True) -> None:
        """The sliders on the current frame's latent (and the probe too, if asked)."""
        trajectory = self.state.trajectory
        if trajectory is None or not self.sliders:
            return
        self._base = trajectory.mu[self.state.frame].astype(np.float32)
        base = self._base[None]
        for axis, slider in enumerate(self.sliders):
            position = float(self.axes.deviations(base, axis)[0])
            slider.blockSignals(True)
            slider.setValue(int(np.clip(round(position * TICKS), slider.minimum(),
                                        slider.maximum())))
            slider.blockSignals(False)
            self._values[axis].setText(f"{position:+.1f} sd")
        if move_probe:
            self.state.set_probe(self._base)

    def _slide(self, axis: int, value: int) -> None:
        """One axis moved: the probe goes to the latent with it there, the rest kept."""
        if self._base is None:
            return
        deviations = value / TICKS
        self._base = self.axes.moved(self._base, axis, np.array([deviations]))[0]
        self._values[axis].setText(f"{deviations:+.1f} sd")
        self.state.set_probe(self._base)

    def _grab(self) -> None:
        self._before = self.state.probe

    def _let_go(self) -> None:
        self.state.record_probe_move(self._before)  # undoable, like a drag of the probe

    def choose_output(self) -> None:
        if self.state.trajectory is None:
            return
        video = self.state.video_path
        suggested = video.with_name(f"{video.stem}_traversal.png") if video else "traversal.png"
        path, _ = QFileDialog.getSaveFileName(self, "Save Traversal", str(suggested),
                                              TRAVERSAL_FILTER)
        if path:
            self.request(path)

    def request(self, path: str) -> None:
        """Ask for the traversal of every shown axis from the current frame, at ``path``."""
        picked = list(range(len(self.sliders)))
        self.renderRequested.emit(
            (self.axes, self.state.frame, picked, self.steps.value(), self.reach.value()), path)
