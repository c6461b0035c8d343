"""The timeline: frame slider, play/pause at the video's rate or a chosen speed, loop, and
a per-frame reconstruction-error curve that shows where the model struggles."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
CURVE_PIXELS = 70
"""The height of the curves and the time axis under them."""
RANGE_POINTS = 8
"""The size of the PSNR range label's font."""


class TimeAxis(pg.AxisItem):
    """Ticks at frame positions, labelled with the frames' times in seconds."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.times = np.zeros(0)

    def tickStrings(self, values, scale, spacing) -> list[str]:
        if not len(self.times):
            return ["" for _ in values]
        rows = np.clip(np.round(values).astype(int), 0, len(self.times) - 1)
        return [f"{self.times[row]:.1f} s" for row in rows]


class ErrorCurve(pg.PlotWidget):
    """Reconstruction PSNR per frame, under the slider and aligned with it: the same x is
    the same frame (a video autoencoder's step: each of its frames, with the step's PSNR,
    and the current step shaded). A click seeks to the frame under the pointer."""

    frameClicked = Signal(int)

    def __init__(self) -> None:
        self.time_axis = TimeAxis()
        super().__init__(axisItems={"bottom": self.time_axis})
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.getPlotItem().hideButtons()
        self.getPlotItem().hideAxis("left")  # its width would shift frame 0 off the slider's
        self.setToolTip("Reconstruction PSNR per frame (higher is better): click to go there")
        # The PSNR range is captioned in a strip of its own above the curves: over them it
        # would hide their tops, where the anomalies are marked.
        self._range = pg.TextItem(anchor=(0, 0), color=(120, 120, 120))
        font = QFont(self.font())
        font.setPointSize(RANGE_POINTS)
        self._range.setFont(font)
        self._range.textItem.document().setDocumentMargin(0)
        self._range.setParentItem(self.getPlotItem())
        self._label_pixels = QFontMetrics(font).height() + 2
        self.setFixedHeight(CURVE_PIXELS + self._label_pixels)
        self.getPlotItem().layout.setContentsMargins(0, self._label_pixels, 0, 0)
        self._curve = self.plot(
            pen=pg.mkPen((90, 160, 255), width=1.5), fillLevel=0, brush=(90, 160, 255, 50)
        )
        # an hour of video is 86,400 values: drawn as each pixel column's lowest and highest
        self._curve.setDownsampling(auto=True, method="peak")
        self._curve.setClipToView(True)
        self._compared = self.plot(pen=pg.mkPen((255, 150, 40), width=1.5))
        """A second model's PSNR, while two models are compared."""
        self._compared.setDownsampling(auto=True, method="peak")
        self._compared.setClipToView(True)
        self._values: np.ndarray | None = None
        self._marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((255, 80, 60), width=1.5))
        self.addItem(self._marker)
        self.step_region = pg.LinearRegionItem(movable=False, brush=(255, 80, 60, 45),
                                               pen=pg.mkPen(None))
        self.step_region.setVisible(False)
        self.addItem(self.step_region)
        self._bands: list[pg.LinearRegionItem] = []
        self.marks = pg.ScatterPlotItem(symbol="t", size=9, pen=None, brush=(230, 40, 40))
        self.addItem(self.marks)
        self._count = 0
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_values(self, psnr_db: np.ndarray | None, time_s: np.ndarray) -> None:
        """The PSNR of each of ``len(time_s)`` positions (None: not measured)."""
        self._count = len(time_s)
        self.time_axis.times = np.asarray(time_s, np.float64)
        self.setXRange(0, max(1, self._count - 1), padding=0)
        self._values = None if psnr_db is None else np.asarray(psnr_db, np.float64)
        self._compared.setData([], [])
        if psnr_db is None:
            self._curve.setData([], [])
        else:
            self._curve.setData(np.arange(self._count), psnr_db)
        self._fit_values()

    def set_compared(self, psnr_db: np.ndarray | None) -> None:
        """A second model's PSNR at the same positions, drawn in orange over the first's
        (None: no longer)."""
        if psnr_db is None or len(psnr_db) != self._count:
            self._compared.setData([], [])
        else:
            self._compared.setData(np.arange(self._count), np.asarray(psnr_db, np.float64))
        self._fit_values()

    @property
    def has_compared(self) -> bool:
        """Whether a second model's PSNR curve is drawn."""
        positions = self._compared.getData()[0]
        return positions is not None and len(positions) > 0

    def _fit_values(self) -> None:
        """The value range of the curves drawn, and its caption."""
        compared = self._compared.getData()[1] if self.has_compared else None
        drawn = [values[np.isfinite(values)] for values in (self._values, compared)
                 if values is not None]
        drawn = [values for values in drawn if len(values)]
        if not drawn:
            self.setYRange(0, 1, padding=0)
            self._range.setText("")
            return
        low = min(float(np.min(values)) for values in drawn)
        high = max(float(np.max(values)) for values in drawn)
        self.setYRange(max(0.0, low - 2), high + 1, padding=0)
        ranges = [f"{np.min(values):.1f}–{np.max(values):.1f}" for values in drawn]
        if compared is None:
            self._range.setText(f"PSNR {ranges[0]} dB")
        else:  # which is which: the colours of the curves
            first = ("" if self._values is None else
                     f"<span style='color:#5aa0ff'>A {ranges[0]}</span> · ")
            self._range.setHtml(f"<span style='color:#787878'>PSNR dB </span>{first}"
                                f"<span style='color:#ff9628'>B {ranges[-1]}</span>")

    @property
    def has_curve(self) -> bool:
        """Whether a PSNR curve is drawn (the encoding measured it)."""
        positions = self._curve.getData()[0]
        return positions is not None and len(positions) > 0

    def set_findings(self, bands: list[tuple[int, int, tuple]], marks: list[int]) -> None:
        """Scenes as coloured bands, (first, last position, RGBA), and anomalies as marks
        at the top, at these positions."""
        for band in self._bands:
            self.removeItem(band)
        self._bands = []
        for first, last, colour in bands:
            band = pg.LinearRegionItem((first - 0.5, last + 0.5), movable=False,
                                       brush=(*colour[:3], 70), pen=pg.mkPen(None))
            band.setZValue(-10)
            self.addItem(band)
            self._bands.append(band)
        top = self.getPlotItem().vb.viewRange()[1][1]
        self.marks.setData(x=np.asarray(marks, float), y=np.full(len(marks), top))

    @property
    def bands(self) -> list[tuple[float, float]]:
        """The scene bands drawn, as position ranges (for tests)."""
        return [band.getRegion() for band in self._bands]

    def align(self, left: int, right: int) -> None:
        """Put frame 0 at x = ``left`` and the last frame at ``right`` (this widget's
        pixels): where the slider draws its handle's centre for them."""
        item = self.getPlotItem()
        item.layout.setContentsMargins(max(0, left), self._label_pixels,
                                       max(0, self.width() - right), 0)
        self._range.setPos(max(0, left), 0)

    def set_current(self, index: int, step: tuple[int, int] | None = None) -> None:
        """Mark position ``index``; ``step``, the first and last position of the latent
        step that covers it, is shaded."""
        self._marker.setValue(index)
        self.step_region.setVisible(step is not None)
        if step is not None:
            self.step_region.setRegion((step[0] - 0.5, step[1] + 0.5))

    def _on_click(self, event) -> None:
        if not self._count:
            return
        x = self.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        self.frameClicked.emit(int(np.clip(round(x), 0, self._count - 1)))


class Timeline(QWidget):
    """Emits ``frameChanged(row, within)`` when the user scrubs, steps or plays.

    The slider moves through video frames. For a per-frame model each is a row of the
    trajectory (``within`` is 0); a video autoencoder's row is a latent step that covers
    several frames, and ``within`` says which of them is on screen. In a library it shows
    one video's rows, which begin at the trajectory's row :attr:`first_row`.
    """

    frameChanged = Signal(int, int)

    def __init__(self) -> None:
        super().__init__()
        self._play = QToolButton()
        self._play.setToolTip("Play / pause (Space)")
        self._play.setCheckable(True)
        self._play.toggled.connect(self._on_play_toggled)
        self._loop = QToolButton()
        self._loop.setText("Loop")
        self._loop.setCheckable(True)
        self._loop.setChecked(True)
        self._loop.setToolTip("Start again at the end")
        self._loop.setStyleSheet(  # the "on" state must be seen at a glance, light or dark
            "QToolButton:checked { background: palette(highlight);"
            " color: palette(highlighted-text); border-radius: 3px; padding: 2px 6px; }")
        self._speed = QComboBox()
        for speed in SPEEDS:
            self._speed.addItem(f"{speed:g}×", speed)
        self._speed.setCurrentIndex(SPEEDS.index(1.0))
        self._speed.setToolTip("Playback speed, relative to the video's frame rate")
        self._speed.currentIndexChanged.connect(self._restart_timer)
        self._slider = QSlider(Qt.Orientation.Horizontal)
        self._slider.setEnabled(False)
        self._slider.valueChanged.connect(self._on_value_changed)
        self._label = QLabel("no frames")
        self._label.setMinimumWidth(190)
        self.error_curve = ErrorCurve()
        self.error_curve.setVisible(False)
        self._slider.rangeChanged.connect(lambda *_: QTimer.singleShot(0, self._align_curve))
        self.error_curve.frameClicked.connect(self.set_position)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self._fps = 25.0
        self._times = np.zeros(0)
        self._spans: np.ndarray | None = None
        self._starts = np.zeros(0, np.int64)
        """The slider position of each row's first frame."""
        self.first_row = 0
        """The trajectory's row that the slider's first row is."""
        self._name = ""
        self._findings: tuple[list, list] = ([], [])

        layout = QGridLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self._play, 0, 0)
        layout.addWidget(self._slider, 0, 1)
        layout.addWidget(self._label, 0, 2)
        layout.addWidget(self._speed, 0, 3)
        layout.addWidget(self._loop, 0, 4)
        layout.addWidget(self.error_curve, 1, 1)
        self._update_play_icon(False)

    @property
    def frame(self) -> int:
        """The trajectory row on screen."""
        return self.first_row + self._row_at(self._slider.value())

    @property
    def frame_count(self) -> int:
        """Rows: frames, or a video autoencoder's latent steps."""
        return len(self._times)

    @property
    def position_count(self) -> int:
        """Positions of the slider: the video frames the rows cover."""
        return self._slider.maximum() + 1 if self.frame_count else 0

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_frames(self, time_s: np.ndarray, fps: float, psnr_db: np.ndarray | None = None,
                   spans: np.ndarray | None = None, first_row: int = 0, name: str = "") -> None:
        """Show ``len(time_s)`` rows; ``time_s`` labels each one, ``fps`` paces playback.
        ``spans`` [N, 2], for a video autoencoder, gives the first and last video frame
        each row (a latent step) covers: the slider then moves through those frames.
        ``first_row`` is the trajectory's row of the first one, and ``name`` the video's,
        shown in the label (a library's video)."""
        self.first_row, self._name = first_row, name
        self._times = np.asarray(time_s, dtype=np.float64)
        self._spans = None if spans is None else np.asarray(spans, dtype=np.int64)
        self._fps = fps if fps > 0 else 25.0
        if self._spans is None or not len(self._spans):
            self._starts = np.arange(self.frame_count, dtype=np.int64)
            positions, times, psnr = self.frame_count, self._times, psnr_db
        else:
            lengths = self._spans[:, 1] - self._spans[:, 0] + 1
            self._starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            positions = int(lengths.sum())
            times = self._times[0] + np.arange(positions) / self._fps
            psnr = None if psnr_db is None else np.repeat(psnr_db, lengths)
        self._slider.setEnabled(self.frame_count > 0)
        self._slider.setRange(0, max(0, positions - 1))
        self._slider.setPageStep(max(1, round(self._positions_per_second())))  # a second
        self.error_curve.set_values(psnr, times)
        self._draw_findings()
        QTimer.singleShot(0, self._align_curve)
        self._slider.setValue(0)
        self._on_value_changed(0)

    def show_findings(self, scenes: list[tuple[int, int, tuple]], anomalies: list[int]) -> None:
        """Scenes, (first row, last row, RGBA), as bands under the slider, and anomalous
        rows as marks; rows are the trajectory's, and those another video's (in a
        library) are left out."""
        self._findings = (scenes, anomalies)
        self._draw_findings()

    def show_compared(self, psnr_db: np.ndarray | None) -> None:
        """A second model's PSNR of each of the first trajectory's rows, beside the
        first's; None takes it away."""
        self.error_curve.set_compared(psnr_db)
        self._draw_findings()

    def _draw_findings(self) -> None:
        scenes, anomalies = self._findings if self.frame_count else ([], [])
        last_row = self.first_row + self.frame_count - 1
        bands = [(self._row_positions(max(first, self.first_row) - self.first_row)[0],
                  self._row_positions(min(last, last_row) - self.first_row)[1], colour)
                 for first, last, colour in scenes
                 if first <= last_row and last >= self.first_row]
        marks = [self._row_positions(row - self.first_row)[0] for row in anomalies
                 if self.first_row <= row <= last_row]
        self.error_curve.set_findings(bands, marks)
        curve = self.error_curve
        curve.setVisible(curve.has_curve or curve.has_compared or bool(bands or marks))
        QTimer.singleShot(0, self._align_curve)

    def _row_at(self, position: int) -> int:
        return max(0, int(np.searchsorted(self._starts, position, side="right")) - 1)

    def _row_positions(self, row: int) -> tuple[int, int]:
        """The first and last slider position of ``row``."""
        end = self._starts[row + 1] - 1 if row + 1 < self.frame_count else self._slider.maximum()
        return int(self._starts[row]), int(end)

    def handle_centre(self, value: int) -> QPoint:
        """Where the slider draws its handle's centre for ``value``, in this widget."""
        option = QStyleOptionSlider()
        self._slider.initStyleOption(option)
        option.sliderPosition = option.sliderValue = value
        rect = self._slider.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle,
            self._slider)
        return self._slider.mapTo(self, rect.center())

    def _align_curve(self) -> None:
        if not self.error_curve.isVisible():
            return
        curve_left = self.error_curve.mapTo(self, QPoint(0, 0)).x()
        first = self.handle_centre(self._slider.minimum()).x() - curve_left
        last = self.handle_centre(self._slider.maximum()).x() - curve_left
        self.error_curve.align(first, last)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._align_curve)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._align_curve)

    def set_frame(self, row: int, within: int = 0) -> None:
        """Show trajectory row ``row`` (its frame ``within``, for a latent step)."""
        if not self.frame_count:
            return
        row -= self.first_row
        first, last = self._row_positions(int(np.clip(row, 0, self.frame_count - 1)))
        self.set_position(min(first + max(0, within), last))

    def set_position(self, position: int) -> None:
        self._slider.setValue(max(0, min(position, self._slider.maximum())))

    def step(self, delta: int) -> None:
        """Move ``delta`` video frames."""
        self.set_position(self._slider.value() + delta)

    def skip(self, seconds: float) -> None:
        """Move ``seconds`` of video (at least a position): a long video's quick way along."""
        self.step(round(seconds * self._positions_per_second()) or (1 if seconds > 0 else -1))

    def _positions_per_second(self) -> float:
        """The video's rate, or for rows that skip frames (a stride), the rows' rate."""
        span = self._times[-1] - self._times[0] if self.frame_count > 1 else 0.0
        if self._spans is None and span > 0:
            return (self.frame_count - 1) / span
        return self._fps

    def toggle_play(self) -> None:
        self._play.toggle()

    def _on_play_toggled(self, playing: bool) -> None:
        if playing and self.position_count > 1:
            if self._slider.value() == self._slider.maximum() and not self._loop.isChecked():
                self.set_position(0)
            self._restart_timer()
        else:
            self._timer.stop()
            self._play.setChecked(False)
        self._update_play_icon(self._timer.isActive())

    def _restart_timer(self) -> None:
        if self._play.isChecked():
            speed = self._speed.currentData()
            self._timer.start(max(1, round(1000 / (self._fps * speed))))

    def _advance(self) -> None:
        if self._slider.value() < self._slider.maximum():
            self.step(1)
        elif self._loop.isChecked():
            self.set_position(0)
        else:
            self._play.setChecked(False)

    def _update_play_icon(self, playing: bool) -> None:
        pixmap = QStyle.StandardPixmap
        icon = pixmap.SP_MediaPause if playing else pixmap.SP_MediaPlay
        self._play.setIcon(self.style().standardIcon(icon))

    def _on_value_changed(self, position: int) -> None:
        if not self.frame_count:
            self._label.setText("no frames")
            return
        row = self._row_at(position)
        named = f"{self._name}  ·  " if self._name else ""
        if self._spans is not None:
            first, last = self._spans[row]
            frame = first + position - self._starts[row]
            self._label.setText(
                f"{named}frame {frame} / {self._spans[-1, 1]}  ·  step {row} / "
                f"{self.frame_count - 1} (frames {first}–{last})  ·  "
                f"{self._times[0] + position / self._fps:.2f} s")
            self.error_curve.set_current(position, self._row_positions(row))
        else:
            last = self.frame_count - 1
            self._label.setText(f"{named}frame {row} / {last}  ·  {self._times[row]:.2f} s")
            self.error_curve.set_current(position)
        self.frameChanged.emit(self.first_row + row, position - int(self._starts[row]))
