"""The latent map: the trajectory in 2-D, coloured by time, with the current frame marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

COLOUR_MAP = "viridis"


class LatentMap(pg.PlotWidget):
    """Draws a trajectory's 2-D embedding; clicking a point asks to jump to its frame."""

    frameClicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setMenuEnabled(False)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setLabel("bottom", "component 1")
        self.setLabel("left", "component 2")
        self.getPlotItem().hideButtons()
        self._colour_map = pg.colormap.get(COLOUR_MAP)
        self._line = pg.PlotDataItem(pen=pg.mkPen((150, 150, 150, 110), width=1.5))
        self._points = pg.ScatterPlotItem(size=7, pen=None, hoverable=True)
        self._current = pg.ScatterPlotItem(
            size=18, pen=pg.mkPen((255, 80, 60), width=2.5), brush=None, symbol="o"
        )
        for item in (self._line, self._points, self._current):
            self.addItem(item)
        self._colour_bar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=self._colour_map,
            interactive=False,
            width=12,
            label="time (s)",
        )
        self.getPlotItem().layout.addItem(self._colour_bar, 2, 5)
        self._points.sigClicked.connect(self._on_points_clicked)
        self._embedding = np.zeros((0, 2), np.float32)

    @property
    def point_count(self) -> int:
        return len(self._embedding)

    def set_trajectory(self, embedding: np.ndarray, time_s: np.ndarray) -> None:
        """Show a new trajectory and fit the view to it."""
        self._embedding = np.asarray(embedding, dtype=np.float32)
        span = max(float(time_s[-1] - time_s[0]), 1e-9) if len(time_s) else 1.0
        shades = self._colour_map.map((time_s - time_s[0]) / span, mode="qcolor")
        self._line.setData(self._embedding[:, 0], self._embedding[:, 1])
        self._points.setData(
            pos=self._embedding, brush=[pg.mkBrush(c) for c in shades], data=np.arange(len(shades))
        )
        self._colour_bar.setLevels((float(time_s[0]), float(time_s[0]) + span))
        self.autoRange()

    def set_current(self, index: int) -> None:
        if 0 <= index < len(self._embedding):
            self._current.setData(pos=self._embedding[index : index + 1])

    def point_position(self, index: int) -> tuple[float, float]:
        """Where point ``index`` is drawn, in the plot's data coordinates."""
        x, y = self._embedding[index]
        return float(x), float(y)

    def _on_points_clicked(self, _item: pg.ScatterPlotItem, points, _event) -> None:
        if len(points):
            self.frameClicked.emit(int(points[0].data()))
