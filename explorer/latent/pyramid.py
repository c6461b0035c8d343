"""A density image of a million points at any zoom, without a pass over them per frame.

:func:`~explorer.latent.density.rasterise` bins every point each time the view moves
(tens of milliseconds at a million). A :class:`DensityPyramid` bins them once, into a
fine grid over their bounds (2^:data:`FINEST_LEVEL` cells a side), and sums 2 × 2 cells
into ever coarser levels, down to one cell. A view is then drawn from the level whose
cells are about the size of its pixels: work in proportion to the view's pixels, not to
the points. Zoomed in past the finest level, only the points in view are rasterised,
found through the finest level's cells.

Each level keeps only its occupied cells (sorted by their row-major number), so the
finest level, far finer than a screen, costs no more than the points themselves.

Building one is a sort of the points (a few hundred milliseconds at a million), so build
it off the GUI thread: the constructor is a plain function of its inputs, and numpy's
sorts release the GIL. Once built a pyramid is never changed.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from explorer.latent.density import MIN_ALPHA, histogram, image_of, paint_cells
from explorer.latent.spatial import ViewRect

FINEST_LEVEL = 14
"""The finest level has 2^14 = 16,384 cells a side: a million-point map fitted to a
1,000-pixel view is drawn from the pyramid down to about 10× zoom, where fewer than a
tenth of its points are in view."""
_COARSEST_PIXELS = math.sqrt(2.0)
"""A level's cells may be this many pixels across at most (the geometric mean of width
and height): a cell is a pixel, give or take a factor of √2 in either direction."""


class Level(NamedTuple):
    """One level of the pyramid: ``side`` × ``side`` cells, of which the occupied ones are
    ``keys`` (row × side + column, ascending), holding ``counts`` points whose values
    sum to ``sums``."""

    side: int
    keys: np.ndarray
    counts: np.ndarray
    sums: np.ndarray


class Cells(NamedTuple):
    """A block of cells [h, w] (``shape``; row 0 at the bottom) covering the data ``rect``,
    of which those at flat positions ``place`` [K] hold ``counts`` [K] points whose
    values sum to ``sums`` [K]; the rest are empty."""

    shape: tuple[int, int]
    place: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    rect: ViewRect


class DensityImage(NamedTuple):
    """An RGBA image [h, w, 4] uint8 (row 0 at the bottom, as ``rasterise`` makes them)
    and the data rectangle it covers (``ImageItem.setRect``)."""

    image: np.ndarray
    rect: ViewRect


class DensityPyramid:
    """The points with coordinates ``x``, ``y`` [N] (finite) and ``values`` [N] in [0, 1],
    binned at every level from 2^``finest`` cells a side to one."""

    def __init__(self, x: np.ndarray, y: np.ndarray, values: np.ndarray,
                 finest: int = FINEST_LEVEL) -> None:
        self.x, self.y = np.asarray(x), np.asarray(y)
        self.values = np.asarray(values, np.float64)
        if len(self.x):
            low = np.array([self.x.min(), self.y.min()], np.float64)
            span = np.array([self.x.max(), self.y.max()], np.float64) - low
        else:
            low, span = np.zeros(2), np.ones(2)
        self.origin = low
        """The lowest x and y of the points: the grid's lower left corner."""
        self.span = np.where(span > 0, span, 1.0)
        """The grid's width and height in data units (1 along a flat axis)."""
        side = 1 << finest
        keys = (self._cells(self.y, 1, side) * side + self._cells(self.x, 0, side))
        keys = keys.astype(np.int32)  # 2^28 cells at most: half the memory, faster sorts
        # by cell, and in each cell by row: the points of a cell are one run of it
        self._order = np.argsort(keys, kind="stable").astype(np.int32)
        level, starts = _group(side, keys[self._order], None, self.values[self._order])
        self._starts = np.append(starts, len(keys)).astype(np.int32)
        self.levels = [level]
        """Level ``i`` has 2^i cells a side: ``levels[-1]`` is the finest."""
        while side > 1:
            level = _coarser(level)
            side = level.side
            self.levels.append(level)
        self.levels.reverse()

    def __len__(self) -> int:
        return len(self.x)

    def level_for(self, rect: ViewRect, size: tuple[int, int]) -> int | None:
        """The level to draw ``rect`` at ``size = (w, h)`` pixels from: the coarsest whose
        cells are at most √2 pixels across; None when even the finest level's are larger
        (zoomed in past it)."""
        pixel_area = ((rect.x_max - rect.x_min) / max(size[0], 1)
                      * (rect.y_max - rect.y_min) / max(size[1], 1))
        if not pixel_area > 0:
            return 0
        grid_pixels = math.sqrt(self.span[0] * self.span[1] / pixel_area)  # the grid, across
        level = max(0, math.ceil(math.log2(grid_pixels / _COARSEST_PIXELS)))
        return level if level < len(self.levels) else None

    def draw(self, rect: ViewRect, size: tuple[int, int], lut: np.ndarray,
             min_alpha: int = MIN_ALPHA) -> DensityImage:
        """The density image of the view ``rect`` at ``size = (w, h)`` pixels, coloured
        as :func:`~explorer.latent.density.rasterise` colours it (``lut``, ``min_alpha``).

        From a level (:meth:`level_for`), it is that level's cells that meet the view,
        covering a little more than the view; zoomed in past the finest level, it is
        ``rasterise`` of the points in view at the view's own pixels. Only the filled
        cells are coloured: zoomed in, most of a view is empty."""
        level = self.level_for(rect, size)
        if level is None:
            rows = self.rows_near(rect)
            counts, sums = histogram(self.x[rows], self.y[rows], self.values[rows], rect, size)
            return DensityImage(image_of(counts, sums, lut, min_alpha), rect)
        cells = self.cells(level, rect)
        return DensityImage(paint_cells(cells.shape, cells.place, cells.counts, cells.sums,
                                        lut, min_alpha), cells.rect)

    def cells(self, level: int, rect: ViewRect) -> Cells:
        """The occupied cells of ``level`` among those that meet ``rect``."""
        grid = self.levels[level]
        (column_0, column_1), (row_0, row_1) = self._span_of(rect, grid.side)
        found = self._cells_in(grid, column_0, column_1, row_0, row_1)
        width, height = column_1 - column_0 + 1, row_1 - row_0 + 1
        rows, columns = np.divmod(grid.keys[found], grid.side)
        cell = self.span / grid.side
        low = self.origin + cell * (column_0, row_0)
        high = self.origin + cell * (column_1 + 1, row_1 + 1)
        return Cells((height, width), (rows - row_0) * width + (columns - column_0),
                     grid.counts[found], grid.sums[found],
                     ViewRect(float(low[0]), float(low[1]), float(high[0]), float(high[1])))

    def rows_near(self, rect: ViewRect) -> np.ndarray:
        """The rows (ascending within each cell) of the points in the finest cells that
        meet ``rect``: every point in ``rect``, and a few just outside it."""
        grid = self.levels[-1]
        (column_0, column_1), (row_0, row_1) = self._span_of(rect, grid.side)
        found = self._cells_in(grid, column_0, column_1, row_0, row_1)
        return self._order[_runs(self._starts[found], self._starts[found + 1])]

    def _cells(self, coordinates: np.ndarray, axis: int, side: int) -> np.ndarray:
        """The cell (0 to ``side - 1``) along ``axis`` of each coordinate: floored, so the
        cells of a level are its finer level's halved (the scales differ by a power of
        two, which floating point multiplies exactly), and clipped into the grid."""
        scaled = np.subtract(coordinates, self.origin[axis], dtype=np.float64)
        scaled *= side / self.span[axis]
        return np.clip(np.floor(scaled), 0, side - 1).astype(np.int64)

    def _span_of(self, rect: ViewRect, side: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """The first and last column and row of the cells a side ``side`` grid has in
        ``rect``: monotone in the edges, so every point in ``rect`` is in one of them."""
        columns = self._cells(np.array([rect.x_min, rect.x_max]), 0, side)
        rows = self._cells(np.array([rect.y_min, rect.y_max]), 1, side)
        return (int(columns[0]), int(columns[1])), (int(rows[0]), int(rows[1]))

    @staticmethod
    def _cells_in(grid: Level, column_0: int, column_1: int, row_0: int, row_1: int,
                  ) -> np.ndarray:
        """Positions in ``grid`` of its occupied cells in those columns and rows: each row's
        are one run of its keys."""
        first = np.arange(row_0, row_1 + 1, dtype=np.int64) * grid.side
        return _runs(np.searchsorted(grid.keys, first + column_0),
                     np.searchsorted(grid.keys, first + column_1, side="right"))


def _group(side: int, keys: np.ndarray, counts: np.ndarray | None, sums: np.ndarray,
           ) -> tuple[Level, np.ndarray]:
    """The level of the cells ``keys`` (ascending, repeated) that hold ``counts`` points
    (None: one each) whose values sum to ``sums``, and where each cell's run starts."""
    starts = np.flatnonzero(np.diff(keys, prepend=-1))
    counts = (np.diff(np.append(starts, len(keys))) if counts is None
              else _sum_runs(counts, starts))
    return Level(side, keys[starts], counts.astype(np.int32), _sum_runs(sums, starts)), starts


def _coarser(level: Level) -> Level:
    """The level with half as many cells a side: each the sum of 2 × 2 of ``level``'s."""
    side = level.side // 2
    rows, columns = np.divmod(level.keys, level.side)
    keys = (rows // 2) * side + columns // 2
    order = np.argsort(keys, kind="stable")  # two sorted runs for each row: quick
    return _group(side, keys[order], level.counts[order], level.sums[order])[0]


def _sum_runs(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sum of each run of ``values`` that starts at ``starts`` (ascending)."""
    return np.add.reduceat(values, starts) if len(starts) else values[:0]


def _runs(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions of the runs ``[start, end)``, concatenated, without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.int64)
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
