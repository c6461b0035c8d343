"""The map's grid: pyqtgraph's :class:`~pyqtgraph.GridItem`, its lines laid out a level at
a time.

GridItem places each line with small numpy arrays of its own, one after another: with the
finest level's hundred or so lines a side, that was 4–6 ms of every repaint of a map being
panned or zoomed. This draws the same lines, faded the same way, from one array a level and
axis and one ``drawLines`` call. It has no labels: the map's axes carry them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF
from PySide6.QtGui import QPainter, QPen, QPicture


class MapGrid(pg.GridItem):
    """Decade grid lines across the view: three levels, each fainter the closer its lines."""

    def __init__(self) -> None:
        super().__init__(textPen=None)

    def generatePicture(self) -> None:
        rect = self.boundingRect()
        if rect.isNull() or self.deviceTransform_() is None:
            return
        view = self.getViewWidget().rect()
        pixels = np.array([view.width(), view.height()], float)
        low = np.array([rect.left(), min(rect.top(), rect.bottom())])
        high = np.array([rect.right(), max(rect.top(), rect.bottom())])
        self.picture = QPicture()
        painter = QPainter(self.picture)
        for level in range(self.grid_depth - 1, -1, -1):
            spacing = 10.0 ** np.floor(np.log10(np.abs((high - low) / 10.0**level)) + 0.5)
            first = np.floor(low / spacing) * spacing
            count = (np.ceil(high / spacing) * spacing - first) / spacing + 0.5
            for axis in (0, 1):
                positions = first[axis] + np.arange(int(count[axis])) * spacing[axis]
                positions = positions[(positions >= low[axis]) & (positions <= high[axis])]
                painter.setPen(self._pen(pixels[axis] / count[axis]))
                painter.drawLines(self._lines(axis, positions, low, high))
        painter.end()

    def _pen(self, pixels_apart: float) -> QPen:
        """GridItem's pen for lines this many pixels apart: transparent below 3 pixels,
        opaque to 50 of 255 from 13."""
        pen = QPen(self.opts["pen"])
        colour = pen.color()
        colour.setAlpha(int(np.clip(5 * (pixels_apart - 3), 0, 50)))
        pen.setColor(colour)
        pen.setCosmetic(True)
        return pen

    @staticmethod
    def _lines(axis: int, positions: np.ndarray, low: np.ndarray, high: np.ndarray
               ) -> list[QLineF]:
        if axis == 0:  # vertical lines at x positions
            return [QLineF(x, low[1], x, high[1]) for x in positions.tolist()]
        return [QLineF(low[0], y, high[0], y) for y in positions.tolist()]
