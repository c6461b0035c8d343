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
CHEAP_LINE_ABOVE = 5_000
"""A line of more vertices than this is drawn with a 1-pixel pen without antialiasing
(Qt's fast path for thin lines): 20,000 vertices drawn with the map's 1.5-pixel
antialiased pen took 194 ms of a 1,000,000-point map's paint, with a 1-pixel one 33 ms.
Shorter lines keep the map's own pen."""
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
        self._pen, self._antialias = line.opts["pen"], line.opts["antialias"]
        self._cheap_pen = pg.mkPen(self._pen.color(), width=1)
        self.cheap_line = False
        """Whether the line is drawn with the cheap pen (:data:`CHEAP_LINE_ABOVE`)."""
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None
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
        self._timer.timeout.connect(self._settle)
        self._drawn: tuple[Any, ...] | None = None  # the view and size refresh last drew
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
        # every row shown: the embedding itself, not a copy (a million points' is 8 MB)
        self._embedding = embedding if len(rows) == len(embedding) else embedding[rows]
        self.rows = rows
        self._shade, self._shades, self._joins = shade, shades, joins
        self.index, self._bounds = None, None
        self.image.setVisible(False)
        if self.active:
            self.refresh()
            self._timer.start()  # the index is built once the view settles (_settle)
            return
        self._points.setData(pos=self._embedding, brush=shades.brushes[shade], data=rows)
        connect = np.ones(len(rows), bool) if joins is None else np.append(joins, False)[:len(rows)]
        self._draw_line(self._embedding, connect)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The lowest and highest x and y [2] of the shown points (at least one), read
        once per :meth:`set_points`: a million points' take tens of milliseconds."""
        if self._bounds is None:
            x, y = self._embedding[:, 0], self._embedding[:, 1]  # 1-D reductions: fast
            self._bounds = (np.array([x.min(), y.min()]), np.array([x.max(), y.max()]))
        return self._bounds

    def _draw_line(self, vertices: np.ndarray, connect: np.ndarray) -> None:
        """Set the line's vertices [M, 2], with the cheap pen above
        :data:`CHEAP_LINE_ABOVE` of them."""
        cheap = len(vertices) > CHEAP_LINE_ABOVE
        if cheap != self.cheap_line:
            self.cheap_line = cheap
            self._line.opts["antialias"] = self._antialias and not cheap
            self._line.setPen(self._cheap_pen if cheap else self._pen)  # redraws the style
        self._line.setData(vertices[:, 0], vertices[:, 1], connect=connect)

    def _settle(self) -> None:
        """A pan or zoom has paused, or new points were drawn: redraw what the view shows
        now, if refresh has not drawn just that, and index the points if they are not.

        The index's build (seconds at a million points) starts here rather than with the
        points, so that it does not compete for the CPU and the GIL with the window's
        drawing of them: opening a trajectory draws it, fits the view and draws again."""
        if self._drawn != self._view_key():
            self.refresh()
        if self.active and self.index is None:
            self._start_index()

    def _view_key(self) -> tuple[Any, ...]:
        return (self._view.viewRange(), self._view.width(), self._view.height())

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

        self._drawn = self._view_key()
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
        self._draw_line(line.vertices, line.connect)
        self.refreshed.emit()

    def nearest(self, x: float, y: float, pixels: float) -> int:
        """The row of the shown point within ``pixels`` of data position (x, y), or -1
        (and -1 until the index is built)."""
        if self.index is None:
            return -1
        width, height = self._view.viewPixelSize()
        point = int(self.index.nearest(x, y, pixels * width, pixels * height))
        return int(self.rows[point]) if point >= 0 else -1
