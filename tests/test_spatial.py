"""The map's spatial index: the point under the cursor, the points in a view."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.latent.spatial import PointIndex, ViewRect


def brute_nearest(points: np.ndarray, x: float, y: float, rx: float, ry: float) -> int:
    near = np.asarray(points, np.float64)
    distance = np.square((near[:, 0] - x) / rx) + np.square((near[:, 1] - y) / ry)
    if not len(near) or distance.min() > 1.0:
        return -1
    return int(np.flatnonzero(distance == distance.min())[0])


def brute_inside(points: np.ndarray, rect: ViewRect) -> np.ndarray:
    return np.array([i for i, (x, y) in enumerate(np.asarray(points, np.float64))
                     if rect.x_min <= x <= rect.x_max and rect.y_min <= y <= rect.y_max],
                    np.int64)


# Small integer coordinates make equal points and ties common; floats make them rare.
coordinate = st.one_of(st.integers(-4, 4).map(float),
                       st.floats(-5, 5, allow_nan=False, width=32))
embeddings = arrays(np.float32, st.tuples(st.integers(0, 60), st.just(2)), elements=coordinate)
radius = st.one_of(st.sampled_from([0.5, 1.0, 1.5, 3.0]), st.floats(0.01, 8))


@settings(max_examples=80, deadline=None)
@given(embeddings, st.lists(st.tuples(coordinate, coordinate, radius, radius), min_size=1,
                            max_size=8))
def test_nearest_agrees_with_brute_force(points, queries) -> None:
    index = PointIndex(points)
    for x, y, rx, ry in queries:
        assert index.nearest(x, y, rx, ry) == brute_nearest(points, x, y, rx, ry)


def test_nearest_on_wide_ellipses_and_many_equal_points() -> None:
    rng = np.random.default_rng(0)
    points = rng.standard_normal((3000, 2)).astype(np.float32) * [100.0, 0.01]
    points[1000:2500] = points[700]  # a still stretch of video: one place, many frames
    index = PointIndex(points)
    assert index.nearest(*points[1800], 1.0, 1e-4) == 700
    for x, y in rng.standard_normal((300, 2)) * [100.0, 0.01]:
        for rx, ry in ((5.0, 1e-3), (0.5, 1e-2), (50.0, 1e-4)):
            assert index.nearest(x, y, rx, ry) == brute_nearest(points, x, y, rx, ry)


def test_ties_go_to_the_earliest_frame() -> None:
    """On a shuffled lattice, queries at lattice points and midpoints are equally near
    to several distinct points; the lowest row wins, as pointsAt's first point would."""
    rng = np.random.default_rng(3)
    lattice = np.stack(np.meshgrid(np.arange(-3, 4), np.arange(-3, 4)), -1).reshape(-1, 2)
    points = rng.permutation(lattice).astype(np.float32)
    index = PointIndex(points)
    for x, y in np.concatenate([lattice, lattice + 0.5]):
        for rx, ry in ((1.0, 1.0), (2.0, 1.0), (1.5, 3.0)):
            assert index.nearest(x, y, rx, ry) == brute_nearest(points, x, y, rx, ry)


def test_nothing_is_near_outside_the_radius_or_in_an_empty_index() -> None:
    index = PointIndex(np.array([[0.0, 0.0], [10.0, 0.0]], np.float32))
    assert index.nearest(0.0, 1.01, 1.0, 1.0) == -1
    assert index.nearest(0.0, 0.99, 1.0, 1.0) == 0
    assert index.nearest(0.0, 0.0, 0.0, 1.0) == -1
    empty = PointIndex(np.zeros((0, 2), np.float32))
    assert empty.nearest(0.0, 0.0, 1.0, 1.0) == -1
    assert empty.count_in(ViewRect(-1, -1, 1, 1)) == 0
    assert empty.indices_in(ViewRect(-1, -1, 1, 1), 10).tolist() == []


rects = st.tuples(coordinate, coordinate, st.floats(0, 12), st.floats(0, 12)).map(
    lambda r: ViewRect(r[0], r[1], r[0] + r[2], r[1] + r[3]))


@settings(max_examples=80, deadline=None)
@given(embeddings, st.lists(rects, min_size=1, max_size=8))
def test_points_in_a_view_agree_with_brute_force(points, views) -> None:
    index = PointIndex(points)
    for rect in views:
        expected = brute_inside(points, rect)
        assert index.count_in(rect) == len(expected)
        assert index.indices_in(rect, len(expected)).tolist() == expected.tolist()
        if len(expected):
            assert index.indices_in(rect, len(expected) - 1) is None


def test_views_on_a_large_clustered_layout() -> None:
    """Thousands of points a cell in places, views from tiny to beyond the data."""
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.standard_normal((20_000, 2)) * 0.01,
                             rng.uniform(-50, 50, (20_000, 2))]).astype(np.float32)
    index = PointIndex(points)
    for centre, half in [((0, 0), 0.005), ((0, 0), 0.3), ((10, -5), 7.0), ((0, 0), 80.0),
                         ((300, 300), 10.0), ((-50, -50), 0.0)]:
        rect = ViewRect(centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)
        expected = np.flatnonzero(rect.contains(points.astype(np.float64)))
        assert index.count_in(rect) == len(expected)
        assert np.array_equal(index.indices_in(rect, 10**6), expected)


def test_a_reversed_view_holds_nothing() -> None:
    index = PointIndex(np.zeros((5, 2), np.float32))
    assert index.count_in(ViewRect(1, -1, -1, 1)) == 0
    assert index.indices_in(ViewRect(-1, 1, 1, -1), 10).tolist() == []


def test_view_rect_from_pyqtgraph_range() -> None:
    rect = ViewRect.from_range([[-1.0, 2.0], [3.0, 5.0]])
    assert rect == ViewRect(-1.0, 3.0, 2.0, 5.0)
    assert rect.contains(np.array([[2.0, 3.0], [2.1, 4.0]])).tolist() == [True, False]


def test_a_layout_with_nan_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        PointIndex(np.array([[0.0, np.nan]]))


def test_indexes_built_on_worker_threads_answer_like_one_built_here() -> None:
    rng = np.random.default_rng(2)
    layouts = [rng.standard_normal((30_000, 2)).astype(np.float32) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        built = list(pool.map(PointIndex, layouts))
    queries = rng.standard_normal((50, 2))
    for layout, index in zip(layouts, built, strict=True):
        here = PointIndex(layout)
        for x, y in queries:
            assert index.nearest(x, y, 0.05, 0.02) == here.nearest(x, y, 0.05, 0.02)
            rect = ViewRect(x, y, x + 0.5, y + 0.2)
            assert np.array_equal(index.indices_in(rect, 10**6), here.indices_in(rect, 10**6))


def test_a_lasso_holds_the_points_inside_it_even_odd() -> None:
    from explorer.latent.spatial import inside_polygon

    grid = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), axis=-1).reshape(-1, 2)
    square = np.array([[1.5, 1.5], [5.5, 1.5], [5.5, 5.5], [1.5, 5.5]])
    inside = inside_polygon(grid, square)
    expected = ((grid >= 2) & (grid <= 5)).all(axis=1)
    np.testing.assert_array_equal(inside, expected)
    hollow = np.array([[0.5, 0.5], [8.5, 0.5], [8.5, 8.5], [0.5, 8.5], [0.5, 0.5],
                       [3.5, 3.5], [3.5, 5.5], [5.5, 5.5], [5.5, 3.5], [3.5, 3.5]])
    ring = inside_polygon(grid, hollow)
    assert ring[grid.tolist().index([1.0, 1.0])] and not ring[grid.tolist().index([4.0, 4.0])]
    assert not inside_polygon(grid, square[:2]).any(), "two points enclose nothing"
