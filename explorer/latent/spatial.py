"""Finding a map's points fast: the point under the cursor and the points in a view.

At a million points, asking the scatter item which point is under the cursor costs tens
of milliseconds a mouse move, and counting what a view shows means scanning every point.
:class:`PointIndex` answers both in well under a millisecond: a k-d tree
(``scipy.spatial.cKDTree``) for the nearest point, and a grid of cells with a summed-area
table for rectangles (cells wholly inside a view are counted from the table; only the
cells on its edges are looked at point by point).

Building one takes about a second at a million points, so build it off the GUI thread:
the constructor is a plain function of its input (it copies what it keeps, touches no
shared state, and numpy's sorts and the tree's build release the GIL for most of that
time). Once built a ``PointIndex`` is never changed, so any thread may query it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

# The grid has about one cell per point, up to this many cells a side (4 MB of counts).
_MAX_CELLS = 1024
# Rounding room for the ball that must hold every point of the ellipse.
_SLACK = 1.0 + 1e-9


class ViewRect(NamedTuple):
    """An axis-aligned rectangle in data units; its edges belong to it."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @classmethod
    def from_range(cls, view_range: tuple[tuple[float, float], tuple[float, float]]) -> ViewRect:
        """From ``[[x_min, x_max], [y_min, y_max]]``, as pyqtgraph's ``viewRange()`` gives."""
        (x_min, x_max), (y_min, y_max) = view_range
        return cls(float(x_min), float(y_min), float(x_max), float(y_max))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """[N] bool: which of ``points`` [N, 2] lie inside (or on an edge)."""
        x, y = points[:, 0], points[:, 1]
        return (x >= self.x_min) & (x <= self.x_max) & (y >= self.y_min) & (y <= self.y_max)


class PointIndex:
    """A read-only index over a 2-D embedding [N, 2] (finite numbers; N may be 0)."""

    def __init__(self, embedding: np.ndarray) -> None:
        points = np.asarray(embedding, np.float64).reshape(-1, 2)
        if not np.isfinite(points).all():
            raise ValueError("the embedding must be finite")
        points = points + 0.0  # -0.0 and 0.0 are one place
        self._points = points
        # The tree holds each place once (a still video has thousands of equal points),
        # named by the first row there: the earliest frame, which ties resolve to anyway.
        places = np.ascontiguousarray(points).view(np.complex128).ravel()
        _, first = np.unique(places, return_index=True)
        self._rows = np.sort(first)
        self._scale = _extent(points)
        # an unbalanced tree builds twice as fast and answers as fast (measured at 1M)
        self._tree = cKDTree(points[self._rows] / self._scale, balanced_tree=False,
                             compact_nodes=False)
        self._build_grid(points)

    def __len__(self) -> int:
        return len(self._points)

    def nearest(self, x: float, y: float, radius_x: float, radius_y: float) -> int:
        """The row of the point nearest to (x, y) inside the ellipse with these radii (data
        units: a few pixels, which are not square in data units), or -1 when none is.

        "Nearest" is measured in the ellipse's own units, ``(dx / rx)² + (dy / ry)²``;
        of points equally near, the lowest row (the earliest frame) wins.
        """
        if not len(self._points) or not radius_x > 0 or not radius_y > 0:
            return -1
        centre = np.array([x, y]) / self._scale
        # In the tree's units the ellipse reaches at most ``widest`` from its centre, so a
        # point within ``e`` ellipse-radii of it is within ``e * widest`` there. The tree's
        # nearest point bounds how far the ellipse's nearest can be; look no farther.
        widest = max(radius_x / self._scale[0], radius_y / self._scale[1])
        _, found = self._tree.query(centre, k=1)
        bound = self._ellipse_distances(self._rows[[found]], x, y, radius_x, radius_y)[0]
        reach = math.sqrt(min(bound, 1.0)) * widest * _SLACK
        candidates = self._rows[self._tree.query_ball_point(centre, reach)]
        if not len(candidates):
            return -1
        distances = self._ellipse_distances(candidates, x, y, radius_x, radius_y)
        closest = distances.min()
        if closest > 1.0:
            return -1
        return int(candidates[distances == closest].min())

    def _ellipse_distances(self, rows: np.ndarray, x: float, y: float,
                           radius_x: float, radius_y: float) -> np.ndarray:
        """Squared ellipse-radii from (x, y) of the points ``rows`` (squared: 1 is the edge)."""
        near = self._points[rows]
        return np.square((near[:, 0] - x) / radius_x) + np.square((near[:, 1] - y) / radius_y)

    def count_in(self, rect: ViewRect) -> int:
        """How many points lie in ``rect`` (edges included): exact, about O(√N) work."""
        if not len(self._points) or not _is_proper(rect):
            return 0
        (cx0, cx1), (cy0, cy1) = self._cell_span(rect)
        inner = 0  # the cells strictly between the edge cells, from the summed-area table
        if cx1 - cx0 > 1 and cy1 - cy0 > 1:
            table = self._table
            inner = (table[cy1, cx1] - table[cy0 + 1, cx1]
                     - table[cy1, cx0 + 1] + table[cy0 + 1, cx0 + 1])
        # the ring of cells the edges run through: rows cy0 and cy1 whole, the rest at both ends
        rows = np.unique([cy0, cy1])
        middle = np.arange(cy0 + 1, cy1)
        edge = np.concatenate([
            self._cell_ranges(rows, cx0, cx1),
            self._cell_ranges(middle, cx0, cx0),
            self._cell_ranges(middle, cx1, cx1) if cx1 != cx0 else np.empty((0, 2), np.intp),
        ])
        return int(inner) + int(rect.contains(self._points[self._order[_gather(edge)]]).sum())

    def indices_in(self, rect: ViewRect, limit: int) -> np.ndarray | None:
        """The rows of the points in ``rect``, ascending, or None when there are more than
        ``limit`` of them (so a zoomed-out view never gathers a million indices)."""
        if self.count_in(rect) > limit:
            return None
        if not len(self._points) or not _is_proper(rect):
            return np.empty(0, np.int64)
        (cx0, cx1), (cy0, cy1) = self._cell_span(rect)
        rows = self._order[_gather(self._cell_ranges(np.arange(cy0, cy1 + 1), cx0, cx1))]
        return np.sort(rows[rect.contains(self._points[rows])]).astype(np.int64, copy=False)

    def _build_grid(self, points: np.ndarray) -> None:
        """The rows sorted by cell (row-major), where each cell's rows start, and the
        summed-area table of the cells' counts."""
        side = int(np.clip(math.isqrt(max(len(points), 1)), 1, _MAX_CELLS))
        self._side = side
        self._origin = points.min(axis=0) if len(points) else np.zeros(2)
        self._cell = self._scale / side
        cells = self._cells(points)
        flat = cells[:, 1] * side + cells[:, 0]
        self._order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat, minlength=side * side)
        self._starts = np.concatenate([[0], np.cumsum(counts)])
        table = np.zeros((side + 1, side + 1), np.int64)
        table[1:, 1:] = counts.reshape(side, side).cumsum(axis=0).cumsum(axis=1)
        self._table = table

    def _cells(self, points: np.ndarray) -> np.ndarray:
        """[N, 2] (column, row) of the cell of each point, clipped into the grid.

        Monotone in each coordinate, which is what makes the cells strictly between a
        rectangle's edge cells lie wholly inside it, whatever the rounding.
        """
        cells = np.floor((points - self._origin) / self._cell)
        return np.clip(cells, 0, self._side - 1).astype(np.intp)

    def _cell_span(self, rect: ViewRect) -> tuple[tuple[int, int], tuple[int, int]]:
        corners = self._cells(np.array([[rect.x_min, rect.y_min], [rect.x_max, rect.y_max]]))
        return (int(corners[0, 0]), int(corners[1, 0])), (int(corners[0, 1]), int(corners[1, 1]))

    def _cell_ranges(self, rows: np.ndarray, first: int, last: int) -> np.ndarray:
        """[R, 2] start and end (in ``_order``) of cells ``first``..``last`` of each row of
        cells: consecutive cells of one row are one run there."""
        rows = np.asarray(rows, np.intp)
        return np.column_stack([self._starts[rows * self._side + first],
                                self._starts[rows * self._side + last + 1]])


def _is_proper(rect: ViewRect) -> bool:
    """Whether ``rect`` holds any place at all (not reversed, no NaN edges)."""
    return rect.x_min <= rect.x_max and rect.y_min <= rect.y_max


def _extent(points: np.ndarray) -> np.ndarray:
    """[2] the size of the points' bounding box along each axis (1 where it is flat)."""
    if not len(points):
        return np.ones(2)
    size = points.max(axis=0) - points.min(axis=0)
    return np.where(size > 0, size, 1.0)


def _gather(ranges: np.ndarray) -> np.ndarray:
    """The positions of several ``[start, end)`` runs, concatenated, without a Python loop."""
    lengths = ranges[:, 1] - ranges[:, 0]
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.intp)
    offsets = np.repeat(ranges[:, 0] - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total)


def inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """[N] bool: which of ``points`` [N, 2] lie inside the closed ``polygon`` [M, 2] (a
    lasso drawn on the map), by the even-odd rule. Points outside its bounding box are
    ruled out first; the rest cost one vectorised pass per edge."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    polygon = np.asarray(polygon, np.float64).reshape(-1, 2)
    inside = np.zeros(len(points), bool)
    if len(polygon) < 3:
        return inside
    low, high = polygon.min(axis=0), polygon.max(axis=0)
    candidates = np.flatnonzero(((points >= low) & (points <= high)).all(axis=1))
    x, y = points[candidates, 0], points[candidates, 1]
    crossings = np.zeros(len(candidates), bool)
    for (x1, y1), (x2, y2) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        if y1 == y2:
            continue  # a level edge is never crossed by a level ray
        straddles = (y1 > y) != (y2 > y)
        crossings ^= straddles & (x < x1 + (y - y1) * (x2 - x1) / (y2 - y1))
    inside[candidates] = crossings
    return inside
