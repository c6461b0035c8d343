"""Level of detail for the latent map: it draws the map's points and the line through them.

A trajectory of more than :data:`DETAIL_LIMIT` points (an hour of video is 86,400) is
drawn as a density image coloured like the points while the view holds more than
:data:`POINTS_IN_VIEW` of them, and as points once it holds fewer; the line through them is
decimated to what the view can show. The image comes from a density pyramid
(:class:`~explorer.latent.pyramid.DensityPyramid`: the points binned once, so that a frame
costs the same at a million points as at a thousand), built on a thread of its own; until
it is, from a sample of the points. Picking (hover, click, the context menu) goes through
a spatial index (:class:`~explorer.latent.spatial.PointIndex`), also built on a thread,
so that the window never waits for either. Before all that, a large trajectory's points
themselves (their shades, the shown rows, the columns and the sample) are made on a
thread too, and drawn once they are ready. At most :data:`DETAIL_LIMIT` points are all
drawn at once as they are, and indexed at once.

Points are drawn by a :class:`~explorer.ui.shaded_points.ShadedPoints` at every size, set
from arrays (where, and which colour of the lookup table), never a brush per point; so
the map picks them through the index at every size too.

Points may be left out (a library's hidden videos): only the shown ``rows`` are drawn and
indexed, and every point drawn or picked is known by its row of the trajectory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal

from explorer.latent.map_points import MapPoints
from explorer.ui.shaded_points import ShadedPoints

DETAIL_LIMIT = 20_000
"""A trajectory of at most this many points is drawn one point at a time, whatever the
view: once, as pan and zoom only repaint it."""
POINTS_IN_VIEW = 5_000
"""A larger trajectory's points are drawn one by one when the view holds at most this
many; more are a density image. Its points are found (the index) and set again at
every pan and zoom; a density image costs the same however many the view holds."""
LINE_VERTICES = 20_000
"""Vertices of the line among the points, at most: zoomed in, it is exact."""
DENSITY_LINE_VERTICES = 4_500
"""Vertices of the line over a density image, at most: the trajectory sampled evenly in
time, all the eye reads of it there (20,000 took 11 ms of each paint)."""
LINE_SAMPLE = 100_000
"""The line over a density image, and the image until the pyramid is built, are made
from this many points at most, evenly spread in time: a frame never reads all of them."""
REFRESH_MS = 30  # a pan or zoom redraws once it pauses this long


class LevelOfDetail(QObject):
    """Draws a trajectory's points (:attr:`shown`), a large one's density image
    (:attr:`image`) and the line through them (the map's ``line`` item), and indexes the
    points for picking; see the module docstring."""

    _indexBuilt = Signal(object, object)  # the embedding it was built for, its PointIndex
    _pyramidBuilt = Signal(object, object)  # the (embedding, shade) it was built for, it
    _pointsPrepared = Signal(object, object)  # what made them, (MapPoints, _Prepared) or None
    pointsShown = Signal(object)
    """The :class:`~explorer.latent.map_points.MapPoints` now drawn."""
    refreshed = Signal()

    def __init__(self, view_box: pg.ViewBox, line: pg.PlotDataItem,
                 point_size: float) -> None:
        super().__init__()
        self._view, self._line = view_box, line
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-1)
        self.image.setVisible(False)
        view_box.addItem(self.image)
        self.shown = ShadedPoints(point_size)
        """The points drawn one by one: all of a small trajectory's, a large one's in
        view."""
        self.drawn_rows = np.zeros(0, np.intp)
        """The trajectory rows :attr:`shown` draws."""
        self.shown.setZValue(-0.5)
        view_box.addItem(self.shown)
        line.setZValue(-0.75)  # over the image, under the points
        self.points: MapPoints | None = None
        """What is drawn: every point, the rows shown and their shades."""
        self._wanted: tuple[Callable[[], MapPoints], Any] | None = None
        """What makes the newest points, and their colours, while they are prepared."""
        self._preparing = False
        self._embedding = np.zeros((0, 2), np.float32)
        """The shown points."""
        self.rows = np.zeros(0, np.intp)
        """The trajectory row of each shown point."""
        self._xy = (np.zeros(0, np.float32), np.zeros(0, np.float32))  # contiguous columns
        self._values = np.zeros(0, np.float32)
        self._shade = np.zeros(0, np.intp)
        self._raster_lut = np.zeros((256, 4), np.uint8)  # the table as density images take it
        self._joins: np.ndarray | None = None
        self._sample: Any = None  # the points drawn before the pyramid, and their line
        self.pyramid: Any = None
        """The :class:`~explorer.latent.pyramid.DensityPyramid` of the shown points, once
        built."""
        self._pyramid_building = False
        self.index: Any = None
        """The :class:`~explorer.latent.spatial.PointIndex` of the shown points, once built."""
        self._building = False
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self._settle)
        self._drawn: tuple[Any, ...] | None = None  # the view and size refresh last drew
        view_box.sigRangeChanged.connect(self._view_changed)
        self._indexBuilt.connect(self._on_index_built)
        self._pyramidBuilt.connect(self._on_pyramid_built)
        self._pointsPrepared.connect(self._on_points_prepared)

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

    @property
    def pending(self) -> bool:
        """Whether the newest points are still being prepared on a thread."""
        return self._wanted is not None

    def show(self, make: Callable[[], MapPoints], count: int, lut: np.ndarray) -> None:
        """Draw the points ``make`` returns, ``count`` of them, each in its shade's colour
        of the lookup table ``lut`` [S, 4] (uint8 RGBA), then emit
        :attr:`pointsShown`. A few are drawn at once; more than :data:`DETAIL_LIMIT` are
        prepared on a thread (their shades, columns and sample: tens of milliseconds at a
        million points, which the window's event loop would wait for), and the newest of
        what was asked meanwhile is drawn when they are."""
        if count <= DETAIL_LIMIT:
            self._wanted = None
            points = make()
            self._apply(points, _Prepared.of(points, len(lut)), lut)
            return
        self._wanted = (make, lut)
        if not self._preparing:
            self._preparing = True
            # once the event that asked has ended: the thread's array work and the rest of
            # that event's (the timeline's, a paint's) would take turns with the GIL
            QTimer.singleShot(0, self._start_preparing)

    def _start_preparing(self) -> None:
        if self._wanted is None:  # a few points were drawn since
            self._preparing = False
            return
        make, lut = self._wanted
        threading.Thread(target=self._prepare, args=(make, len(lut)), daemon=True,
                         name="map-points").start()

    def _prepare(self, make: Callable[[], MapPoints], steps: int) -> None:
        prepared = None
        try:
            points = make()
            prepared = (points, _Prepared.of(points, steps))
        finally:  # an error is the thread's to report; the map still takes the next points
            _deliver(lambda: self._pointsPrepared.emit(make, prepared))

    def _on_points_prepared(self, make: Callable[[], MapPoints], prepared: Any) -> None:
        self._preparing = False
        if self._wanted is None:  # a few points were drawn since
            return
        wanted, lut = self._wanted
        if wanted is not make:  # newer points were asked for meanwhile
            self._preparing = True
            self._start_preparing()
            return
        self._wanted = None
        if prepared is not None:
            self._apply(*prepared, lut)

    def _apply(self, points: MapPoints, prepared: _Prepared, lut: np.ndarray) -> None:
        self.points = points
        self._embedding, self.rows, self._shade = prepared.shown, points.rows, points.shade
        self._joins, self._xy, self._values = points.joins, prepared.xy, prepared.values
        self._sample, self._bounds = prepared.sample, prepared.bounds
        self.index, self.pyramid = None, None
        self.image.setVisible(False)
        self.shown.set_colours(lut)
        if self.active:
            self._raster_lut = lut[np.rint(np.arange(256) * (len(lut) - 1) / 255).astype(np.intp)]
            self.pointsShown.emit(points)  # the map may fit the view to them: drawn once
            self.refresh()
            self._timer.start()  # the pyramid and index are built once the view settles
            return
        from explorer.latent.spatial import PointIndex

        self.index = PointIndex(self._embedding)  # 12 ms at 20,000 points
        self._draw_points(np.arange(len(self._embedding)))
        joins = self._joins
        connect = np.ones(len(self.rows), bool) if joins is None \
            else np.append(joins, False)[:len(self.rows)]
        self._draw_line(self._embedding, connect)
        self.pointsShown.emit(points)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The lowest and highest x and y [2] of the shown points (at least one), read
        once per set of points: a million points' take tens of milliseconds."""
        if self._bounds is None:
            self._bounds = _extent(self._embedding[:, 0], self._embedding[:, 1])
        return self._bounds

    def _draw_points(self, shown: np.ndarray) -> None:
        """Draw the shown points ``shown`` (their positions among them) one by one."""
        self.shown.set_points(self._embedding[shown], self._shade[shown])
        self.drawn_rows = self.rows[shown]

    def _draw_line(self, vertices: np.ndarray, connect: np.ndarray) -> None:
        self._line.setData(vertices[:, 0], vertices[:, 1], connect=connect)

    def _settle(self) -> None:
        """A pan or zoom has paused, or new points were drawn: redraw what the view shows
        now, if refresh has not drawn just that, and index the points if they are not.

        The builds of the pyramid and the index (a fraction of a second and seconds at a
        million points) start here rather than with the points, so that they do not compete
        for the CPU and the GIL with the window's drawing of them: opening a trajectory
        draws it, fits the view and draws again."""
        if self._drawn != self._view_key():
            self.refresh()
        if self.active and self.pyramid is None:
            self._start_pyramid()
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

        index = PointIndex(embedding)
        _deliver(lambda: self._indexBuilt.emit(embedding, index))

    def _on_index_built(self, embedding: np.ndarray, index: Any) -> None:
        self._building = False
        if embedding is self._embedding:
            self.index = index
            self.refresh()
        elif self.active:  # the points changed meanwhile
            self._start_index()

    def _start_pyramid(self) -> None:
        """Bin the newest points and shades into a pyramid on a thread, one build at a time
        (as the index); until it is built the image is drawn from a sample."""
        if not self._pyramid_building:
            self._pyramid_building = True
            threading.Thread(target=self._build_pyramid, daemon=True, name="map-pyramid",
                             args=((self._embedding, self._shade), self._xy, self._values),
                             ).start()

    def _build_pyramid(self, key: tuple[np.ndarray, np.ndarray],
                       xy: tuple[np.ndarray, np.ndarray], values: np.ndarray) -> None:
        from explorer.latent.pyramid import DensityPyramid

        pyramid = DensityPyramid(*xy, values)
        _deliver(lambda: self._pyramidBuilt.emit(key, pyramid))

    def _on_pyramid_built(self, key: tuple[np.ndarray, np.ndarray], pyramid: Any) -> None:
        self._pyramid_building = False
        if key[0] is self._embedding and key[1] is self._shade:
            self.pyramid = pyramid
            self.refresh()
        elif self.active:  # the points or their shades changed meanwhile
            self._start_pyramid()

    def refresh(self) -> None:
        """Draw what the view shows: a density image, or the points in view."""
        if not self.active:
            return
        from explorer.latent.density import decimate_line, rasterise
        from explorer.latent.spatial import ViewRect

        self._drawn = self._view_key()
        rect = ViewRect.from_range(self._view.viewRange())
        rows = None if self.index is None else self.index.indices_in(rect, POINTS_IN_VIEW)
        if rows is None:  # too many in view (or no index yet): a density image
            size = max(1, int(self._view.width())), max(1, int(self._view.height()))
            sample = self._sample
            if self.pyramid is None:
                image, extent = rasterise(sample.points, sample.values, rect, size,
                                          self._raster_lut), rect
            else:
                image, extent = self.pyramid.draw(rect, size, self._raster_lut)
            self.image.setImage(image, autoLevels=False)
            self.image.setRect(extent.x_min, extent.y_min, extent.x_max - extent.x_min,
                               extent.y_max - extent.y_min)
            self.image.setVisible(True)
            self._draw_points(np.zeros(0, np.intp))
            line = decimate_line(sample.points, rect, DENSITY_LINE_VERTICES, sample.joins)
            self._draw_line(line.vertices, line.connect)
        else:
            self.image.setVisible(False)
            self._draw_points(rows)
            line = decimate_line(self._embedding, rect, LINE_VERTICES, self._joins, self._xy)
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


def _deliver(emit: Callable[[], None]) -> None:
    """Emit a thread's result, unless the map was closed while the thread worked (its Qt
    object deleted, as when a screenshot's window closes at once): then nobody wants it,
    and the thread ends quietly rather than printing a traceback."""
    with contextlib.suppress(RuntimeError):  # "Internal C++ object ... already deleted"
        emit()


def _extent(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest x and y [2] in float64: float32 ones overflow when pyqtgraph
    compares them with its view's limits (±1e307)."""
    return (np.array([x.min(), y.min()], np.float64), np.array([x.max(), y.max()], np.float64))


class _Prepared:
    """What a large map reads at every frame, made once per set of points: the shown
    ``points`` [M, 2], their columns ``xy`` (contiguous float32), their shades in [0, 1]
    as density images take them (``values``), the ``sample`` drawn before the pyramid and
    the points' ``bounds``."""

    def __init__(self, shown: np.ndarray, xy: tuple[np.ndarray, np.ndarray],
                 values: np.ndarray, sample: _Sample | None,
                 bounds: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.shown, self.xy, self.values, self.sample, self.bounds = \
            shown, xy, values, sample, bounds

    @classmethod
    def of(cls, points: MapPoints, steps: int) -> _Prepared:
        """A small map's (at most :data:`DETAIL_LIMIT` points shown) is just its points."""
        from explorer.latent.density import columns

        shown = points.shown
        if len(shown) <= DETAIL_LIMIT:
            return cls(shown, columns(np.zeros((0, 2))), np.zeros(0, np.float32), None, None)
        xy = columns(shown)  # once, not every frame: milliseconds
        values = np.multiply(points.shade, 1 / max(steps - 1, 1), dtype=np.float32)
        return cls(shown, xy, values, _Sample(shown, values, points.joins), _extent(*xy))


class _Sample:
    """Shown points evenly spread in time, at most :data:`LINE_SAMPLE` (the first and the
    last among them): ``points`` [S, 2], their ``values`` [S] and ``joins`` [S - 1],
    whether the line joins sample ``i`` to ``i + 1`` (every step between them joined)."""

    def __init__(self, embedding: np.ndarray, values: np.ndarray,
                 joins: np.ndarray | None) -> None:
        count = len(embedding)
        # steps of at least one: no row twice
        rows = np.linspace(0, count - 1, min(count, LINE_SAMPLE)).astype(np.intp)
        self.points, self.values = embedding[rows], values[rows]
        self.joins = None
        if joins is not None:
            broken = np.concatenate([[0], np.cumsum(~joins)])
            self.joins = broken[rows[1:]] == broken[rows[:-1]]
