"""A fast, continuous map from a 2-D layout back to latents, for dragging on the map.

Any 2-D embedding of a trajectory (PCA, UMAP, ...) is inverted the same way: the layout's
points are triangulated once (Delaunay) and a query point gets the barycentric blend of the
latents at the corners of its triangle. The map is piecewise linear, so it is continuous
and returns exactly ``values[i]`` at ``points[i]``. A query outside the convex hull takes
the value at the nearest point of the hull's boundary (projection onto a convex set is
continuous, and on the boundary it agrees with the inside). Layouts with fewer than three
distinct points, or that lie on a line, are interpolated along that line instead.

A query is located by scipy's ``find_simplex`` (tens of microseconds) in layouts of up to
:data:`TRANSFORMS_UP_TO` points. It needs the barycentric transforms of every triangle,
which take half a second at 50,000 points but seconds at 100,000 and minutes at a million:
in larger layouts a query instead starts at a triangle of its nearest layout point (a k-d
tree) and walks across neighbouring triangles towards it (a fraction of a millisecond).
Queries come in batches and are vectorised.

Layouts of more than :data:`BUILD_NOW` points are triangulated in a child process
(:func:`triangulate_apart`): qhull holds the GIL for about a second at a million points,
which on a thread of the app's process stalls its event loop for as long, and it leaves
its freed heap fragmented in the process that ran it (about 535 MB at a million points).
Only the triangulation's int32 arrays come back.
"""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import NamedTuple

import numpy as np
from scipy.spatial import Delaunay, QhullError, cKDTree

from explorer.pipes import receive_arrays, send_arrays
from explorer.priority import lower_process_priority, start_quietly

# Layouts thinner than this (minor over major standard deviation) are treated as a line:
# qhull leaves degenerate triangles (NaN barycentric transforms) in such slivers.
_FLAT = 1e-6
# Queries outside the hull are measured against every hull edge in blocks of this many.
_CHUNK = 1024
# A walk from the nearest point's triangle ends within a step or two; one that has not
# after this many (round degenerate slivers) takes the nearest hull edge instead.
_WALK_STEPS = 64
# Barycentric weights this far below zero still count as inside (rounding at shared edges).
_INSIDE = -1e-9
TRANSFORMS_UP_TO = 50_000
"""Layouts of at most this many points are searched with scipy's ``find_simplex``."""


BUILD_NOW = 200_000
"""Layouts of at most this many points are triangulated at once (about 3 s here); larger
ones in a child process waited on by a thread (a million points: 25 to 40 s beside other
jobs on two cores, the child's start-up included)."""
_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process that runs Qt


class Triangulation(NamedTuple):
    """A layout's Delaunay triangulation as plain arrays, in rows of the layout's points:
    what a child process sends back (:func:`triangulate`)."""

    keep: np.ndarray
    """[K] intp: the first row at each distinct point, ascending."""
    simplices: np.ndarray | None
    """[T, 3] int32: the rows at each triangle's corners; None when the distinct points
    are fewer than three or lie on a line."""
    neighbours: np.ndarray | None
    """[T, 3] int32: the triangle across from each corner (-1: the hull)."""
    hull: np.ndarray | None
    """[H, 2] int32: the rows at the ends of each convex-hull edge."""
    start: np.ndarray | None
    """[K] int32: a triangle at each distinct point (where a walk starts)."""


def distinct_rows(points: np.ndarray) -> np.ndarray:
    """The first row [K] (ascending) at each distinct place of 2-D ``points`` [N, 2]:
    ``np.unique(points, axis=0, return_index=True)``'s rows, sorted.

    The points are sorted as complex numbers (real part x, imaginary y: the same order),
    which takes a tenth of the time of ``axis=0``'s sort of row records and, unlike it,
    never holds the GIL for long (0.12 s against 650–830 ms held at a million points).
    """
    places = np.ascontiguousarray(points, np.float64).view(np.complex128).ravel()
    _, first = np.unique(places, return_index=True)
    return np.sort(first)


def triangulate(points: np.ndarray) -> Triangulation:
    """The Delaunay triangulation of the distinct points of ``points`` [N, 2] (finite),
    as :class:`Triangulation`'s arrays; a plain function of its input, so a child process
    can run it (:func:`triangulate_apart`)."""
    points = np.asarray(points, np.float64).reshape(-1, 2)
    keep = distinct_rows(points)
    return _arrays(keep, _delaunay(points[keep]))


def triangulate_apart(points: np.ndarray) -> Triangulation:
    """:func:`triangulate` in a child process; in this one where none can start.

    The child is a daemon, so a window closed while it runs neither waits for it nor
    leaves it behind (multiprocessing ends daemons at exit; the caller's thread is a
    daemon too). A child that dies (its memory, say) leaves the work to this process.
    The points go to it through a pipe once it has started, not in its start-up
    message: a window closed while a child was starting cut that message short, and the
    child printed a traceback.
    """
    if multiprocessing.current_process().daemon:  # daemons may not start children
        return triangulate(points)
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    points_in, points_out = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_triangulate_into, args=(points_in, sender), daemon=True,
                             name="explorer-triangulation")
    try:
        start_quietly(child)
    except OSError:  # no process to be had (limits)
        receiver.close()
        points_out.close()
        return triangulate(points)
    finally:
        sender.close()  # the child's copies are its own: recv sees EOF if it dies
        points_in.close()
    try:
        send_arrays(points_out, [points])
        return Triangulation(*receive_arrays(receiver))
    except (EOFError, BrokenPipeError):
        return triangulate(points)
    finally:
        points_out.close()
        receiver.close()
        child.join()


def _triangulate_into(points_in: Connection, sender: Connection) -> None:
    """The child's work: :func:`triangulate` of the points it is sent, sent back, at low
    priority; nothing when the window has gone meanwhile."""
    lower_process_priority()
    try:
        (points,) = receive_arrays(points_in)
        send_arrays(sender, triangulate(points))
    except (EOFError, BrokenPipeError):  # nobody waits for it any more
        return


def _arrays(keep: np.ndarray, tri: Delaunay | None) -> Triangulation:
    """The triangulation ``tri`` of the distinct points ``keep`` as rows of the layout."""
    if tri is None:
        return Triangulation(keep, None, None, None, None)
    corners = tri.simplices
    start = np.empty(len(keep), np.int32)
    start[corners.ravel()] = np.repeat(np.arange(len(corners), dtype=np.int32), 3)
    return Triangulation(keep, keep[corners].astype(np.int32), tri.neighbors.astype(np.int32),
                         keep[tri.convex_hull].astype(np.int32), start)


def _delaunay(distinct: np.ndarray) -> Delaunay | None:
    """qhull's triangulation of distinct points; None for fewer than three or a line."""
    if len(distinct) < 3:
        return None
    variance = np.linalg.eigvalsh(np.cov(distinct.T))  # ascending
    if variance[0] <= _FLAT**2 * variance[1]:
        return None
    try:
        return Delaunay(distinct)
    except QhullError:
        return None


class SurfaceBuild:
    """A :class:`BarycentricInverse` of a layout, built at once when it is small, else on
    a thread that waits for its triangulation from a child process: :meth:`result` is
    None until then, and the caller falls back on a plainer inverse (PCA's own linear
    one)."""

    def __init__(self, points: np.ndarray, values: np.ndarray) -> None:
        self._surface: BarycentricInverse | None = None
        if len(points) <= BUILD_NOW:
            self._surface = BarycentricInverse(points, values)
        else:
            threading.Thread(target=self._build, args=(points, values), daemon=True,
                             name="inverse-surface").start()

    def _build(self, points: np.ndarray, values: np.ndarray) -> None:
        self._surface = BarycentricInverse(points, values, triangulate_apart(points))

    def result(self) -> BarycentricInverse | None:
        return self._surface


class BarycentricInverse:
    """Piecewise-linear interpolation of ``values`` [N, D] over 2-D ``points`` [N, 2].

    Points that coincide share the value of the first of them; every other point is a
    corner of the triangulation, so the map is exact there (except for points within about
    1e-13 of the layout's size of another, which qhull merges). ``triangulation``, where
    given, is :func:`triangulate`'s of these points (made elsewhere, e.g. in a child
    process).
    """

    def __init__(self, points: np.ndarray, values: np.ndarray,
                 triangulation: Triangulation | None = None) -> None:
        points = np.asarray(points, np.float64).reshape(-1, 2)
        values = np.asarray(values)
        if len(points) == 0 or len(points) != len(values):
            raise ValueError("need one value row for each of at least one 2-D point")
        if not np.isfinite(points).all():
            raise ValueError("the 2-D points must be finite")
        self.points = points
        self.values = values.reshape(len(values), -1)
        self._delaunay: Delaunay | None = None  # scipy's, for find_simplex: small layouts
        self._transform: np.ndarray | None = None
        if triangulation is None:
            keep = distinct_rows(points)
            tri = _delaunay(points[keep])
            triangulation = _arrays(keep, tri)
            if tri is not None and len(keep) <= TRANSFORMS_UP_TO:
                self._delaunay = tri
        self._keep = triangulation.keep
        self._simplices = triangulation.simplices
        if self._simplices is None:
            self._build_line(points[self._keep])
            return
        self._neighbours = triangulation.neighbours
        if self._delaunay is not None:
            self._transform = self._delaunay.transform
        else:  # for the walks
            self._start = triangulation.start
            self._tree = cKDTree(points[self._keep], balanced_tree=False, compact_nodes=False)
        edges = triangulation.hull
        self._edge_a = points[edges[:, 0]]
        self._edge_d = points[edges[:, 1]] - self._edge_a
        self._edges = edges

    def _build_line(self, distinct: np.ndarray) -> None:
        """Order the distinct points along their principal direction (degenerate layouts)."""
        self._origin = distinct.mean(axis=0)
        centred = distinct - self._origin
        self._direction = np.linalg.eigh(centred.T @ centred)[1][:, -1]
        along = centred @ self._direction
        knots, first = np.unique(along, return_index=True)  # sorted; ties keep one point
        self._knots = knots
        self._knot_rows = self._keep[first]

    def __call__(self, queries: np.ndarray) -> np.ndarray:
        """Values [M, D] (the values' dtype) at 2-D ``queries`` [M, 2] (or one point [2])."""
        index, weight = self.locate(queries)
        return self.blend(index, weight)

    def blend(self, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Sum of ``weight`` times the value rows ``index``; accumulated in float64.

        Accumulating in float64 and rounding back makes a query a hair away from a data
        point (float rounding of the caller's coordinates) still return its float32 value
        bit for bit.
        """
        rows = self.values[index].astype(np.float64, copy=False)
        return np.einsum("mk,mkd->md", weight, rows).astype(self.values.dtype, copy=False)

    def clamp(self, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The 2-D point [M, 2] that a located query was mapped to (itself inside the hull)."""
        return np.einsum("mk,mkj->mj", weight, self.points[index])

    def contains(self, queries: np.ndarray) -> np.ndarray:
        """Whether each query [M, 2] lies inside a triangle (never, for a line layout)."""
        queries = np.asarray(queries, np.float64).reshape(-1, 2)
        if self._simplices is None:
            return np.zeros(len(queries), bool)
        return self._find(queries)[0] >= 0

    def locate(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``index`` [M, 3] of the data points around each query and their ``weight``.

        Weights are non-negative and sum to one; unused slots have weight zero.
        """
        queries = np.asarray(queries, np.float64).reshape(-1, 2)
        if self._simplices is None:
            return self._locate_on_line(queries)
        index = np.empty((len(queries), 3), np.intp)
        weight = np.zeros((len(queries), 3))
        simplex, found = self._find(queries)
        inside = simplex >= 0
        if inside.any():
            index[inside], weight[inside] = self._barycentric(queries[inside], simplex[inside],
                                                              found[inside])
        if not inside.all():
            index[~inside], weight[~inside] = self._nearest_edge(queries[~inside])
        return index, weight

    def _find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The triangle holding each query (-1 outside the hull) and the query's weights
        on its corners."""
        if self._delaunay is not None:
            simplex = self._delaunay.find_simplex(queries)
            transform = self._transform[simplex]
            first_two = np.einsum("mij,mj->mi", transform[:, :2], queries - transform[:, 2])
            return simplex, np.column_stack([first_two, 1.0 - first_two.sum(axis=1)])
        simplex = self._start[self._tree.query(queries)[1]]
        if len(queries) == 1:  # a drag's point
            found, weights = self._walk_one(queries[0], int(simplex[0]))
            return np.array([found]), np.array([weights])
        weights = np.zeros((len(queries), 3))
        walking = np.arange(len(queries))
        for _ in range(_WALK_STEPS):
            here = simplex[walking]
            local = _weights(self.points[self._simplices[here]], queries[walking])
            weights[walking] = local
            local[np.isnan(local)] = -np.inf  # a degenerate triangle: leave it
            lowest = local.argmin(axis=1)
            outside = local[np.arange(len(here)), lowest] < _INSIDE
            walking, here, lowest = walking[outside], here[outside], lowest[outside]
            simplex[walking] = self._neighbours[here, lowest]
            walking = walking[simplex[walking] >= 0]  # walked out of the hull: outside
            if not len(walking):
                return simplex, weights
        simplex[walking] = -1  # lost among degenerate slivers: placed as if outside
        return simplex, weights

    def _walk_one(self, query: np.ndarray, simplex: int) -> tuple[int, list[float]]:
        """:meth:`_find`'s walk for a single query, from triangle ``simplex``, in Python
        floats: a few microseconds a step, where the batch walk's dozen numpy calls take
        about 40, and a drag's point in a million-point layout walks ten to thirty steps
        (the skinny triangles of its empty stretches)."""
        x, y = query.tolist()
        weights = [np.nan] * 3
        for _ in range(_WALK_STEPS):
            (ax, ay), (bx, by), (cx, cy) = self.points[self._simplices[simplex]].tolist()
            area = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
            lowest = 0  # a degenerate triangle: leave it
            if area != 0.0:
                second = ((x - ax) * (cy - ay) - (cx - ax) * (y - ay)) / area
                third = ((bx - ax) * (y - ay) - (x - ax) * (by - ay)) / area
                weights = [1.0 - second - third, second, third]
                lowest = min(range(3), key=weights.__getitem__)
                if weights[lowest] >= _INSIDE:
                    return simplex, weights
            simplex = int(self._neighbours[simplex, lowest])
            if simplex < 0:  # walked out of the hull
                return -1, weights
        return -1, weights  # lost among degenerate slivers: placed as if outside

    def _barycentric(self, queries: np.ndarray, simplex: np.ndarray, weight: np.ndarray):
        weight = np.clip(weight, 0.0, None)  # a rounding error outside the triangle
        weight /= weight.sum(axis=1, keepdims=True)
        index = self._simplices[simplex]
        at_corner = (self.points[index] == queries[:, None, :]).all(axis=2)
        hit = at_corner.any(axis=1)
        weight[hit] = np.eye(3)[at_corner[hit].argmax(axis=1)]
        return index, weight

    def _nearest_edge(self, queries: np.ndarray):
        """Project onto the nearest convex-hull edge and interpolate along it."""
        chunks = [
            self._nearest_edge_chunk(queries[start : start + _CHUNK])
            for start in range(0, len(queries), _CHUNK)
        ]
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])

    def _nearest_edge_chunk(self, queries: np.ndarray):
        length2 = np.einsum("hj,hj->h", self._edge_d, self._edge_d)
        offset = queries[:, None, :] - self._edge_a[None]  # [M, H, 2]
        along = np.einsum("mhj,hj->mh", offset, self._edge_d) / length2
        along = np.clip(along, 0.0, 1.0)
        gap = offset - along[..., None] * self._edge_d[None]
        nearest = np.einsum("mhj,mhj->mh", gap, gap).argmin(axis=1)
        t = along[np.arange(len(queries)), nearest]
        edge = self._edges[nearest]
        index = np.column_stack([edge, edge[:, 0]])
        weight = np.column_stack([1.0 - t, t, np.zeros_like(t)])
        return index, weight

    def _locate_on_line(self, queries: np.ndarray):
        """Linear interpolation between consecutive points along the line, clamped at its ends."""
        rows = self._knot_rows
        if len(rows) == 1:
            index = np.full((len(queries), 3), rows[0])
            return index, np.tile([1.0, 0.0, 0.0], (len(queries), 1))
        along = (queries - self._origin) @ self._direction
        left = np.clip(np.searchsorted(self._knots, along, side="right") - 1, 0, len(rows) - 2)
        low, high = self._knots[left], self._knots[left + 1]
        t = np.clip((along - low) / (high - low), 0.0, 1.0)
        index = np.column_stack([rows[left], rows[left + 1], rows[left]])
        weight = np.column_stack([1.0 - t, t, np.zeros_like(t)])
        return index, weight


def _weights(corners: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Barycentric weights [M, 3] of ``queries`` [M, 2] in triangles ``corners`` [M, 3, 2]
    (NaN for a degenerate triangle)."""
    a = corners[:, 0]
    ab, ac, aq = corners[:, 1] - a, corners[:, 2] - a, queries - a
    area = ab[:, 0] * ac[:, 1] - ac[:, 0] * ab[:, 1]
    weights = np.empty((len(queries), 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(aq[:, 0] * ac[:, 1] - ac[:, 0] * aq[:, 1], area, out=weights[:, 1])
        np.divide(ab[:, 0] * aq[:, 1] - aq[:, 0] * ab[:, 1], area, out=weights[:, 2])
    np.subtract(1.0, weights[:, 1] + weights[:, 2], out=weights[:, 0])
    return weights
