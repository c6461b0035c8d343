"""The map's points as it draws them: each one's shade in the colouring's lookup table,
the rows shown, and where the line through them breaks.

Plain numpy, free of Qt: a million points' take tens of milliseconds of array work, which
the map does on a thread of its own rather than the window's
(:class:`~explorer.ui.map_detail.LevelOfDetail`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Shading:
    """The first N of the array ``source`` as rows of a lookup table: ``shade`` [N] intp,
    and ``limits``, the lowest and highest finite value (None for categories, or when
    none is finite)."""

    source: np.ndarray
    categorical: bool
    shade: np.ndarray
    limits: tuple[float, float] | None

    def fits(self, values: np.ndarray, count: int, categorical: bool) -> bool:
        """Whether this is the shading of the first ``count`` of the very array ``values``:
        another layout of the same trajectory is coloured as the last one was."""
        return self.source is values and len(self.shade) == count \
            and self.categorical == categorical


def shade(values: np.ndarray, categorical: bool, steps: int
          ) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Each value's row [N] intp of a table of ``steps`` colours, and the values' finite
    range (None for categories): categories by their number (modulo ``steps``); numbers
    scaled from the lowest finite value (row 0) to the highest (the last row), a value
    that is not a number taking row 0 and infinities the ends."""
    values = np.asarray(values)
    if categorical:
        return values.astype(np.intp) % steps, None
    limits = finite_range(values)
    low, high = limits or (0.0, 1.0)
    numbers = np.nan_to_num(values, nan=low) if np.isnan(values).any() else values
    # in place: a million points' temporaries took 0.1 s
    scaled = np.subtract(numbers, low, dtype=np.float64)
    scaled *= (steps - 1) / max(high - low, 1e-9)
    np.clip(scaled, 0, steps - 1, out=scaled)
    return np.rint(scaled, out=scaled).astype(np.intp), limits


def finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """The lowest and highest finite value, None when there is none. Where every value
    is finite (the usual case: a million times), read without copying out the finite ones."""
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    if np.isfinite(low) and np.isfinite(high):
        return low, high
    finite = values[np.isfinite(values)]
    return (float(finite.min()), float(finite.max())) if len(finite) else None


@dataclass(frozen=True, eq=False)
class MapPoints:
    """What the map draws of a trajectory: ``embedding`` [N, 2] float32, every row;
    ``rows`` [M], those shown; ``shading`` of all N; ``shade`` [M], the shown points'; and
    ``joins`` [M - 1], whether the line joins shown points ``i`` and ``i + 1`` (None: it
    joins them all)."""

    embedding: np.ndarray
    rows: np.ndarray
    shading: Shading
    shade: np.ndarray
    joins: np.ndarray | None

    @property
    def shown(self) -> np.ndarray:
        """The shown points [M, 2]: the embedding itself, not a copy, when every row is."""
        return self.embedding if len(self.rows) == len(self.embedding) \
            else self.embedding[self.rows]


def map_points(embedding: np.ndarray, values: np.ndarray, categorical: bool, steps: int,
               shown: np.ndarray | None = None, groups: np.ndarray | None = None,
               shading: Shading | None = None) -> MapPoints:
    """The points of ``embedding`` [N, 2] coloured by the first N ``values`` in a table of
    ``steps`` colours (``shading``, when it is theirs already, is kept); ``shown`` [N]
    bool leaves points out, and ``groups`` [N] keeps the line from joining points of
    different groups (a library's videos)."""
    embedding = np.asarray(embedding, dtype=np.float32)
    count = len(embedding)
    rows = np.arange(count) if shown is None else np.flatnonzero(shown[:count])
    if shading is None or not shading.fits(values, count, categorical):
        shading = Shading(values, categorical, *shade(np.asarray(values)[:count], categorical,
                                                      steps))
    every = len(rows) == count
    return MapPoints(embedding, rows, shading,
                     shading.shade if every else shading.shade[rows], joins(rows, groups))


def joins(rows: np.ndarray, groups: np.ndarray | None) -> np.ndarray | None:
    """[M - 1] bool: whether the line joins shown rows ``i`` and ``i + 1``: consecutive
    rows of one group; None when it joins them all."""
    if groups is None and len(rows) and rows[-1] - rows[0] == len(rows) - 1:
        return None  # one unbroken run (rows ascend): no array of a million Trues to read
    joined = np.diff(rows) == 1
    if groups is not None:
        joined &= groups[rows[1:]] == groups[rows[:-1]]
    return joined
