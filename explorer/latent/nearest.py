"""The exact nearest rows of a large point set to query points, with a small tree.

Placing a latent on a UMAP layout (the probe, a keyframe, the clip's playhead) needs its
nearest trajectory latents. Compared with every row, that took 15–55 ms of the GUI thread
at a million rows. A k-d tree of the points themselves answers at once but holds a float64
copy of them (128 MB at a million 16-d latents, above the window's memory target).

So the tree holds only the rows' coordinates along the set's three widest (principal)
directions: 32 MB at a million. A row's distance from a query is at least the distance of
their coordinates, so once a few rows bound the k-th distance ``r``, only the rows within
``r`` of the query in those coordinates can be nearer, and the tree finds them. On a
trajectory, where a point's neighbours are close, they are a few hundred. The answer is
exact: the same rows as comparing with every one. The tree is built on a thread (0.6 s at
a million rows), meanwhile queries compare with every row.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.spatial import cKDTree

INDEXED_FROM = 50_000
"""Sets of fewer rows are compared with every row: it costs less than the tree."""
_PRUNING_AXES = 3
_FIRST_GUESSES = 64
"""Rows nearest in the tree's coordinates whose distances first bound the k-th one."""
_BLOCK = 1 << 22
"""Elements in one block of query-to-row distances: bounds memory."""
_TOLERANCE = 1e-9
"""How far (relative to the coordinates' size) the bound is widened: a row at it stays
in however its coordinates were rounded."""


class NearestRows:
    """The rows of ``points`` [N, r] (float32) nearest to query points, nearest first."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = np.asarray(points, np.float32)
        self._squared: np.ndarray | None = None  # the rows' squared norms, once needed
        self._index: tuple[np.ndarray, cKDTree] | None = None  # directions, tree
        self.indexed = threading.Event()
        """Set once queries use the tree (at once for a small set: it has none)."""
        if len(self.points) >= INDEXED_FROM:
            threading.Thread(target=self._build, name="explorer-nearest-rows",
                             daemon=True).start()
        else:
            self.indexed.set()

    def _build(self) -> None:
        if np.isfinite(self.points).all():  # else every query compares every row
            axes = _widest_directions(self.points, _PRUNING_AXES)
            projected = np.empty((len(self.points), len(axes)))
            block = max(1, _BLOCK // self.points.shape[1])
            for start in range(0, len(self.points), block):  # a block in float64 at a time
                part = self.points[start : start + block].astype(np.float64)
                projected[start : start + len(part)] = part @ axes.T
            self._index = axes, cKDTree(projected, balanced_tree=False)
        self.indexed.set()

    def query(self, queries: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and distances [M, count] of the nearest rows to each query [M, r]."""
        queries = np.asarray(queries, np.float64)
        index = self._index
        if index is None:
            return self._compared_with_all(queries, count)
        rows = np.empty((len(queries), count), np.intp)
        distances = np.empty((len(queries), count))
        for row, query in enumerate(queries):
            if np.isfinite(query).all():
                rows[row], distances[row] = self._pruned(*index, query, count)
            else:
                rows[row], distances[row] = self._one_compared_with_all(query, count)
        return rows, distances

    def _pruned(self, axes: np.ndarray, tree: cKDTree, query: np.ndarray, count: int
                ) -> tuple[np.ndarray, np.ndarray]:
        """One query's nearest rows among those its bound leaves in the tree."""
        projected = axes @ query
        guesses = tree.query(projected, k=max(_FIRST_GUESSES, count))[1]
        bound = np.partition(self._distances(guesses, query), count - 1)[count - 1]
        # widened past rounding, which moves coordinates by ~1e-16 of their size
        radius = bound + _TOLERANCE * (bound + np.abs(projected).max())
        inside = np.asarray(tree.query_ball_point(projected, radius), np.intp)
        if len(inside) > len(self.points) // 4:  # a query far from the data
            return self._one_compared_with_all(query, count)
        rows = np.union1d(inside, guesses)  # the guesses bound it: they always count
        distances = self._distances(rows, query)
        nearest = np.argpartition(distances, count - 1)[:count]
        nearest = nearest[np.argsort(distances[nearest], kind="stable")]
        return rows[nearest], distances[nearest]

    def _distances(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        return np.linalg.norm(self.points[rows] - query, axis=1)

    def _one_compared_with_all(self, query: np.ndarray, count: int
                               ) -> tuple[np.ndarray, np.ndarray]:
        index, distance = self._compared_with_all(query[None], count)
        return index[0], distance[0]

    def _compared_with_all(self, queries: np.ndarray, count: int
                           ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates ranked in float32 against every row, then measured in float64."""
        if self._squared is None:  # in blocks: no call holds the GIL for a million rows
            self._squared = np.concatenate([
                np.einsum("nr,nr->n", part, part, dtype=np.float64)
                for part in np.array_split(self.points, max(1, self.points.size // _BLOCK))])
        block = max(1, _BLOCK // len(self.points))
        index = np.empty((len(queries), count), np.intp)
        distance = np.empty((len(queries), count))
        for start in range(0, len(queries), block):
            part = queries[start : start + block]
            ranking = self._squared[None, :] - 2.0 * (part.astype(np.float32) @ self.points.T)
            candidates = np.argpartition(ranking, count - 1, axis=1)[:, :count]
            exact = np.linalg.norm(self.points[candidates] - part[:, None], axis=2)
            order = np.argsort(exact, axis=1)
            index[start : start + block] = np.take_along_axis(candidates, order, axis=1)
            distance[start : start + block] = np.take_along_axis(exact, order, axis=1)
        return index, distance


def _widest_directions(points: np.ndarray, count: int) -> np.ndarray:
    """The orthonormal directions [≤ count, r] of the points' largest variances (from
    their r × r covariance, summed a block of rows at a time)."""
    mean = points.mean(axis=0, dtype=np.float64)
    scatter = np.zeros((points.shape[1], points.shape[1]))
    block = max(1, _BLOCK // points.shape[1])
    for start in range(0, len(points), block):
        centred = points[start : start + block].astype(np.float64) - mean
        scatter += centred.T @ centred
    vectors = np.linalg.eigh(scatter)[1]
    return vectors[:, ::-1][:, :count].T.copy()
