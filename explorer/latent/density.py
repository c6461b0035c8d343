"""Level of detail for the map: many points as one image, a long line as few vertices.

A scatter item draws each point (tens of milliseconds per 100,000), so a zoomed-out view of
a long video is drawn instead as an image at the view's own pixel size (:func:`rasterise`,
shown as an ``ImageItem``) and its trajectory line with a bounded number of vertices
(:func:`decimate_line`). Both are numpy only, one pass over the points, no Python loop
over them, and neither knows Qt: colours come in as a lookup table.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from explorer.latent.spatial import ViewRect

# The alpha of a pixel with a single point: faint but visible; the densest pixel is opaque.
MIN_ALPHA = 80


def rasterise(
    embedding: np.ndarray,
    values: np.ndarray,
    rect: ViewRect,
    size: tuple[int, int],
    lut: np.ndarray,
    min_alpha: int = MIN_ALPHA,
) -> np.ndarray:
    """An RGBA image [h, w, 4] uint8 of the points [N, 2] inside ``rect``, ``size = (w, h)``.

    Each pixel takes the colour of the mean of its points' ``values`` ([N], in [0, 1], e.g.
    normalised time) through ``lut`` ([256, 4] or [256, 3] uint8, e.g. pyqtgraph's
    ``ColorMap.getLookupTable(nPts=256, alpha=True)``), and an alpha that grows with the
    logarithm of its point count, from ``min_alpha`` for one point to opaque for the
    densest pixel of this image (all opaque when no pixel has two), times the table's own
    alpha. Empty pixels are transparent (alpha 0; their colour is undefined).

    Row 0 is the bottom edge (``y_min``) and column 0 the left edge: how pyqtgraph's
    ``ImageItem`` shows a row-major image in a y-up view, placed with
    ``setRect(x_min, y_min, width, height)``. A point on the right or top edge falls in
    the last column or row.
    """
    return image_of(*histogram(*columns(embedding), values, rect, size), lut, min_alpha)


def image_of(counts: np.ndarray, sums: np.ndarray, lut: np.ndarray,
             min_alpha: int = MIN_ALPHA) -> np.ndarray:
    """The RGBA image [h, w, 4] uint8 of pixels holding ``counts`` [h, w] points whose
    values sum to ``sums`` [h, w] (:func:`histogram`), coloured by :func:`paint_cells`."""
    filled = np.flatnonzero(counts)
    return paint_cells(counts.shape, filled, counts.flat[filled], sums.flat[filled], lut,
                       min_alpha)


def histogram(x: np.ndarray, y: np.ndarray, values: np.ndarray, rect: ViewRect,
              size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The point counts and value sums [h, w] of the pixels of :func:`rasterise`, of the
    points with coordinates ``x``, ``y`` [N] (best contiguous: see :func:`columns`)."""
    width, height = max(size[0], 0), max(size[1], 0)
    span_x, span_y = rect.x_max - rect.x_min, rect.y_max - rect.y_min
    if not len(x) or width < 1 or height < 1 or not (span_x > 0 and span_y > 0):
        return np.zeros((height, width), np.int64), np.zeros((height, width))
    inside = (x >= rect.x_min) & (x <= rect.x_max) & (y >= rect.y_min) & (y <= rect.y_max)
    values = np.asarray(values)
    if not inside.all():  # zoomed out, every point is in view: nothing to gather
        x, y, values = x[inside], y[inside], values[inside]
    pixel = _bins(y, rect.y_min, span_y, height) * width + _bins(x, rect.x_min, span_x, width)
    counts = np.bincount(pixel, minlength=width * height)
    sums = np.bincount(pixel, weights=values, minlength=width * height)
    return counts.reshape(height, width), sums.reshape(height, width)


def paint_cells(shape: tuple[int, int], place: np.ndarray, counts: np.ndarray,
                sums: np.ndarray, lut: np.ndarray, min_alpha: int = MIN_ALPHA) -> np.ndarray:
    """An RGBA image [h, w, 4] uint8 of ``shape`` (h, w) whose cells at flat positions
    ``place`` [K] hold ``counts`` [K] points whose values sum to ``sums`` [K], coloured
    by :func:`colour_cells`; the other cells are transparent. Only the filled cells are
    coloured: most of a view of a trajectory is empty (the whole image coloured took
    30 ms of a 1,100 × 760 view)."""
    image = np.zeros(shape, np.uint32)
    image.flat[place] = colour_cells(counts, sums, lut, min_alpha).view(np.uint32).ravel()
    return image.view(np.uint8).reshape(*shape, 4)


def colour_cells(counts: np.ndarray, sums: np.ndarray, lut: np.ndarray,
                 min_alpha: int = MIN_ALPHA) -> np.ndarray:
    """The RGBA colours [..., 4] uint8 of cells holding ``counts`` points whose values sum
    to ``sums`` (arrays of one shape), coloured as :func:`rasterise` colours its pixels:
    the densest of these is opaque."""
    level = np.clip(np.rint(sums / np.maximum(counts, 1) * 255.0), 0, 255).astype(np.uint8)
    image = _rgba(lut).view(np.uint32).ravel()[level].view(np.uint8).reshape(*level.shape, 4)
    densest = int(counts.max(initial=0))
    ramp = np.zeros(densest + 1, np.uint16)  # the alpha of each point count
    ramp[1:] = 255
    if densest > 1:
        ramp[1:] = np.rint(min_alpha + (255 - min_alpha)
                           * np.log(np.arange(1, densest + 1)) / np.log(densest))
    alpha = ramp[counts] * image[..., 3].astype(np.uint16)
    image[..., 3] = (alpha + 127) // 255
    return image


def _rgba(lut: np.ndarray) -> np.ndarray:
    """The [256, 4] uint8 table, contiguous, opaque where it came without alpha."""
    lut = np.asarray(lut, np.uint8)
    if lut.shape not in ((256, 3), (256, 4)):
        raise ValueError(f"the lookup table must be [256, 3 or 4], not {list(lut.shape)}")
    if lut.shape[1] == 3:
        lut = np.column_stack([lut, np.full(len(lut), 255, np.uint8)])
    return np.ascontiguousarray(lut)


def columns(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The x and y [N] float32 of ``points`` [N, 2], each contiguous: comparisons and
    arithmetic on a column read in place, every other number, ran ten times slower (a
    million points: 8.6 against 0.7 ms for a view's four comparisons). Copying them out
    takes milliseconds too, so a caller that reads the same points every frame keeps
    them."""
    points = np.asarray(points, np.float32).reshape(-1, 2)
    return np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])


def _bins(coordinates: np.ndarray, start: float, span: float, count: int) -> np.ndarray:
    """The bin (0 to ``count - 1``, int32) of each coordinate in [start, start + span].

    Computed in float64; converted to int32, which is ten times faster than to int64
    here (1 against 10 ms for a million)."""
    scaled = np.subtract(coordinates, start, dtype=np.float64)
    scaled *= count / span
    return np.minimum(scaled.astype(np.int32), count - 1)


class Polyline(NamedTuple):
    """A line to draw: ``vertices`` [M, 2], the trajectory's ``rows`` [M] they are, and
    ``connect`` [M] bool, whether vertex ``i`` joins vertex ``i + 1`` (pyqtgraph's
    ``PlotDataItem.setData(x, y, connect=connect)``)."""

    vertices: np.ndarray
    rows: np.ndarray
    connect: np.ndarray


def decimate_line(points: np.ndarray, rect: ViewRect, max_vertices: int,
                  joins: np.ndarray | None = None,
                  xy: tuple[np.ndarray, np.ndarray] | None = None) -> Polyline:
    """The part of the line through ``points`` [N, 2] (in order) that ``rect`` may show,
    in at most ``max_vertices`` vertices. ``joins`` [N - 1], where given, says which
    consecutive points the line joins at all (not two videos of a library). ``xy``, where
    given, is ``columns(points)``, kept by a caller that decimates the same line often.

    A segment is kept unless both its ends lie beyond the same edge of the view (so every
    segment that crosses the view is kept, with its ends outside, and a few that pass
    near a corner). The kept segments form runs; their vertices are drawn as they are
    when there are at most ``max_vertices``, else an evenly spread choice of them (always
    the first and the last) is joined in order, and vertices from different runs are
    never joined. Zoomed in, the line is exact; zoomed out, it is the trajectory sampled
    evenly in time, which is what the eye reads of it under a density image.
    """
    points = np.asarray(points, np.float32).reshape(-1, 2)
    if len(points) < 2 or max_vertices < 2:
        return _polyline(points, np.empty(0, np.intp), np.empty(0, bool))
    code = _outcodes(*(columns(points) if xy is None else xy), rect)
    if joins is None and not code.any():  # all in view (zoomed out): every row, one run
        rows = np.rint(np.linspace(0, len(points) - 1, min(max_vertices, len(points))))
        connect = np.ones(len(rows), bool)
        connect[-1] = False
        return _polyline(points, rows.astype(np.intp), connect)
    shown = (code[:-1] & code[1:]) == 0  # [N - 1]: segment i joins rows i and i + 1
    if joins is not None:
        shown &= joins
    keep = np.zeros(len(points), bool)
    keep[:-1] |= shown
    keep[1:] |= shown
    rows = np.flatnonzero(keep)
    connect = np.zeros(min(len(rows), max_vertices), bool)
    # rows a and b > a join when every segment between them is shown
    if len(rows) > max_vertices:
        # more rows than vertices, so the steps exceed 1 and no choice repeats
        rows = rows[np.rint(np.linspace(0, len(rows) - 1, max_vertices)).astype(np.intp)]
        gaps = np.flatnonzero(~shown)  # no gap in [a, b): as many gaps before a as before b
        connect[:-1] = np.searchsorted(gaps, rows[:-1]) == np.searchsorted(gaps, rows[1:])
    else:  # every kept row: a joins the next kept row if that is a + 1, by a shown segment
        connect[:-1] = (rows[1:] == rows[:-1] + 1) & shown[rows[:-1]]
    return _polyline(points, rows, connect)


def _polyline(points: np.ndarray, rows: np.ndarray, connect: np.ndarray) -> Polyline:
    return Polyline(points[rows], rows.astype(np.int64), connect)


def _outcodes(x: np.ndarray, y: np.ndarray, rect: ViewRect) -> np.ndarray:
    """Cohen–Sutherland codes [N] uint8 of points ``x``, ``y`` [N]: one bit for each edge
    of ``rect`` a point is beyond. Built in uint8 throughout (bools viewed as bytes)."""
    code = (x < rect.x_min).view(np.uint8)
    code |= (x > rect.x_max).view(np.uint8) << 1
    code |= (y < rect.y_min).view(np.uint8) << 2
    code |= (y > rect.y_max).view(np.uint8) << 3
    return code
