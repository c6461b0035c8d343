"""Level of detail for the latent map: it draws the map's points and the line through them.

A trajectory of more points than can be drawn one by one (an hour of video is 86,400) is
drawn as a density image coloured like the points
(:func:`~explorer.latent.density.rasterise`) while the view holds more than
:data:`DETAIL_LIMIT` of them, and as points once it holds fewer; the line through them is
decimated to what the view can show. Picking (hover, click, the context menu) goes through
a spatial index (:class:`~explorer.latent.spatial.PointIndex`), built on a thread of its
own so that the window never waits for it. At most :data:`DETAIL_LIMIT` points are all
drawn as they are, and picked by the scatter itself.

Points may be left out (a library's hidden videos): only the shown ``rows`` are drawn and
indexed, and every point drawn or picked is known by its row of the trajectory.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal

DETAIL_LIMIT = 20_000
"""Points drawn one by one at most; more in view are drawn as a density image."""
LINE_VERTICES = 20_000
REFRESH_MS = 30  # a pan or zoom redraws once it pauses this long


class LevelOfDetail(QObject):
    """Draws a large trajectory into the map's ``points`` and ``line`` items and a density
    image of its own; see the module docstring."""

    _indexBuilt = Signal(object, object)  # the embedding it was built for, its PointIndex
    refreshed = Signal()

    def __init__(self, view_box: pg.ViewBox, points: pg.ScatterPlotItem,
                 line: pg.PlotDataItem) -> None:
        super().__init__()
        self._view, self._points, self._line = view_box, points, line
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-1)
        self.image.setVisible(False)
        view_box.addItem(self.image)
        self._embedding = np.zeros((0, 2), np.float32)
        """The shown points."""
        self.rows = np.zeros(0, np.intp)
        """The trajectory row of each shown point."""
        self._shade = np.zeros(0, np.intp)
        self._shades: Any = None  # the lookup table and brushes of the colouring
        self._joins: np.ndarray | None = None
        self.index: Any = None
        """The :class:`~explorer.latent.spatial.PointIndex` of the shown points, once built."""
        self._building = False
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        view_box.sigRangeChanged.connect(self._view_changed)
        self._indexBuilt.connect(self._on_index_built)

    def _view_changed(self, *_args) -> None:
        if self.active:
            self._timer.start()

    @property
    def active(self) -> bool:
        """Whether the trajectory is too large to draw one point at a time."""
        return len(self._embedding) > DETAIL_LIMIT

    @property
    def showing_density(self) -> bool:
        return self.image.isVisible()

    def set_points(self, embedding: np.ndarray, rows: np.ndarray, shade: np.ndarray,
                   shades: Any, joins: np.ndarray | None = None) -> None:
        """The trajectory's 2-D points [N, 2], the ``rows`` shown [M], each shown point's
        shade (a row of ``shades.lut``, drawn with ``shades.brushes``), and ``joins``
        [M - 1], whether the line joins shown points ``i`` and ``i + 1``."""
        self._embedding, self.rows = embedding[rows], rows
        self._shade, self._shades, self._joins = shade, shades, joins
        self.index = None
        self.image.setVisible(False)
        if self.active:
            self._start_index()
            self.refresh()
            return
        self._points.setData(pos=self._embedding, brush=shades.brushes[shade], data=rows)
        connect = np.ones(len(rows), bool) if joins is None else np.append(joins, False)[:len(rows)]
        self._line.setData(self._embedding[:, 0], self._embedding[:, 1], connect=connect)

    def _start_index(self) -> None:
        """Index the newest points on a thread: one build at a time, so a trajectory that
        grows batch by batch while it encodes starts a new one only when the last ends."""
        if not self._building:
            self._building = True
            threading.Thread(target=self._build_index, args=(self._embedding,), daemon=True,
                             name="map-index").start()

    def _build_index(self, embedding: np.ndarray) -> None:
        from explorer.latent.spatial import PointIndex

        self._indexBuilt.emit(embedding, PointIndex(embedding))

    def _on_index_built(self, embedding: np.ndarray, index: Any) -> None:
        self._building = False
        if embedding is self._embedding:
            self.index = index
            self.refresh()
        elif self.active:  # the points changed meanwhile
            self._start_index()

    def refresh(self) -> None:
        """Draw what the view shows: a density image, or the points in view."""
        if not self.active:
            return
        from explorer.latent.density import decimate_line, rasterise
        from explorer.latent.spatial import ViewRect

        rect = ViewRect.from_range(self._view.viewRange())
        rows = None if self.index is None else self.index.indices_in(rect, DETAIL_LIMIT)
        if rows is None:  # too many in view (or no index yet): a density image
            width, height = max(1, int(self._view.width())), max(1, int(self._view.height()))
            lut = self._shades.lut
            values = self._shade / max(len(lut) - 1, 1)
            raster_lut = lut[np.rint(np.arange(256) * (len(lut) - 1) / 255).astype(np.intp)]
            self.image.setImage(rasterise(self._embedding, values, rect, (width, height),
                                          raster_lut), autoLevels=False)
            self.image.setRect(rect.x_min, rect.y_min, rect.x_max - rect.x_min,
                               rect.y_max - rect.y_min)
            self.image.setVisible(True)
            self._points.setData(pos=np.zeros((0, 2)))
        else:
            self.image.setVisible(False)
            self._points.setData(pos=self._embedding[rows],
                                 brush=self._shades.brushes[self._shade[rows]],
                                 data=self.rows[rows])
        line = decimate_line(self._embedding, rect, LINE_VERTICES, self._joins)
        self._line.setData(line.vertices[:, 0], line.vertices[:, 1], connect=line.connect)
        self.refreshed.emit()

    def nearest(self, x: float, y: float, pixels: float) -> int:
        """The row of the shown point within ``pixels`` of data position (x, y), or -1
        (and -1 until the index is built)."""
        if self.index is None:
            return -1
        width, height = self._view.viewPixelSize()
        point = int(self.index.nearest(x, y, pixels * width, pixels * height))
        return int(self.rows[point]) if point >= 0 else -1
