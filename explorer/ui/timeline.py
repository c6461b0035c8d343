"""The timeline: a frame slider with play/pause at the video's frame rate."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget


class Timeline(QWidget):
    """Emits ``frameChanged`` when the user scrubs, steps or plays."""

    frameChanged = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._play = QToolButton()
        self._play.setToolTip("Play / pause (Space)")
        self._play.setCheckable(True)
        self._play.toggled.connect(self._on_play_toggled)
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setEnabled(False)
        self._slider.valueChanged.connect(self._on_value_changed)
        self._label = QLabel("no frames")
        self._label.setMinimumWidth(170)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self._fps = 25.0
        self._times = np.zeros(0)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self._play)
        layout.addWidget(self._slider, 1)
        layout.addWidget(self._label)
        self._update_play_icon(False)

    @property
    def frame(self) -> int:
        return self._slider.value()

    @property
    def frame_count(self) -> int:
        return self._slider.maximum() + 1 if self._slider.isEnabled() else 0

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_frames(self, time_s: np.ndarray, fps: float) -> None:
        """Show ``len(time_s)`` frames; ``time_s`` labels each one, ``fps`` paces playback."""
        self._times = np.asarray(time_s, dtype=np.float64)
        self._fps = fps if fps > 0 else 25.0
        count = len(self._times)
        self._slider.setEnabled(count > 0)
        self._slider.setRange(0, max(0, count - 1))
        self._slider.setValue(0)
        self._on_value_changed(0)

    def set_frame(self, index: int) -> None:
        self._slider.setValue(max(0, min(index, self._slider.maximum())))

    def step(self, delta: int) -> None:
        self.set_frame(self.frame + delta)

    def toggle_play(self) -> None:
        self._play.toggle()

    def _on_play_toggled(self, playing: bool) -> None:
        if playing and self.frame_count > 1:
            self._timer.start(round(1000 / self._fps))
        else:
            self._timer.stop()
            self._play.setChecked(False)
        self._update_play_icon(self._timer.isActive())

    def _advance(self) -> None:
        self.set_frame((self.frame + 1) % self.frame_count)

    def _update_play_icon(self, playing: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self._play.setIcon(self.style().standardIcon(icon))

    def _on_value_changed(self, index: int) -> None:
        if self.frame_count:
            seconds = self._times[index]
            last = self.frame_count - 1
            self._label.setText(f"frame {index} / {last}  ·  {seconds:.2f} s")
        self.frameChanged.emit(index)
