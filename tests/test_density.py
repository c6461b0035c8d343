"""Level of detail: the density image of many points, its pyramid, the decimated line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.latent.density import MIN_ALPHA, colour_cells, columns, decimate_line, rasterise
from explorer.latent.pyramid import DensityPyramid
from explorer.latent.spatial import ViewRect

# Red is the colour level, green its mirror: a pixel's colour says the mean it shows.
LEVELS = np.arange(256)
LUT = np.column_stack([LEVELS, 255 - LEVELS, np.full(256, 7), np.full(256, 255)]).astype(np.uint8)


def brute_histogram(points, values, rect: ViewRect, width: int, height: int):
    """Counts and value sums [h, w], one point at a time."""
    counts, sums = np.zeros((height, width), int), np.zeros((height, width))
    for (x, y), value in zip(np.asarray(points, np.float64), values, strict=True):
        if rect.x_min <= x <= rect.x_max and rect.y_min <= y <= rect.y_max:
            column = min(int((x - rect.x_min) / (rect.x_max - rect.x_min) * width), width - 1)
            row = min(int((y - rect.y_min) / (rect.y_max - rect.y_min) * height), height - 1)
            counts[row, column] += 1
            sums[row, column] += value
    return counts, sums


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 200), st.just(2)),
           elements=st.floats(-2, 2, width=32)),
    st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1),
)
def test_pixels_hold_the_counts_and_mean_colours_of_a_brute_force_histogram(
        points, width, height, seed) -> None:
    values = np.random.default_rng(seed).random(len(points))
    rect = ViewRect(-1.0, -1.5, 1.5, 1.0)
    image = rasterise(points, values, rect, (width, height), LUT)
    counts, sums = brute_histogram(points, values, rect, width, height)
    assert image.shape == (height, width, 4) and image.dtype == np.uint8
    alpha = image[:, :, 3].astype(int)
    assert ((alpha == 0) == (counts == 0)).all()
    filled = counts > 0
    level = np.rint(sums[filled] / counts[filled] * 255)
    assert np.abs(image[:, :, 0][filled] - level).max(initial=0) <= 1  # rounding of sums
    assert (image[:, :, 1][filled].astype(int) + image[:, :, 0][filled] == 255).all()
    if filled.any():  # alpha grows with the count, up to opaque at the densest pixel
        assert alpha[counts == counts.max()].min() == 255
        order = np.argsort(counts[filled])
        assert (np.diff(alpha[filled][order]) >= 0).all()
        if counts.max() > 1:
            assert (alpha[counts == 1] == MIN_ALPHA).all()


def test_row_zero_is_the_bottom_and_edges_belong_to_the_view() -> None:
    points = np.array([[0.0, 0.0], [4.0, 3.0], [4.0, 0.0], [4.01, 1.0], [2.0, -0.01]])
    image = rasterise(points, np.array([0.0, 1.0, 0.5, 0.3, 0.3]), ViewRect(0, 0, 4, 3),
                      (4, 3), LUT)
    assert image[0, 0, 0] == 0  # bottom left: the first point, value 0
    assert image[2, 3, 0] == 255  # top right (on both far edges): value 1
    assert image[0, 3, 0] == 128  # bottom right
    assert (image[:, :, 3] > 0).sum() == 3  # the two points outside are not drawn


def test_the_tables_alpha_scales_and_rgb_tables_are_opaque() -> None:
    points = np.array([[0.1, 0.1], [0.1, 0.1], [0.9, 0.9]])
    rect = ViewRect(0, 0, 1, 1)
    half = LUT.copy()
    half[:, 3] = 128
    assert rasterise(points, np.zeros(3), rect, (2, 2), half)[0, 0, 3] == 128
    assert rasterise(points, np.zeros(3), rect, (2, 2), LUT[:, :3])[0, 0, 3] == 255
    with pytest.raises(ValueError, match="lookup table"):
        rasterise(points, np.zeros(3), rect, (2, 2), LUT[:100])


def test_nothing_to_draw_is_a_transparent_image() -> None:
    points = np.array([[0.5, 0.5]])
    assert not rasterise(points, [0.5], ViewRect(0, 0, 0, 1), (3, 2), LUT)[:, :, 3].any()
    assert not rasterise(points, [0.5], ViewRect(2, 2, 3, 3), (3, 2), LUT)[:, :, 3].any()
    assert rasterise(np.zeros((0, 2)), [], ViewRect(0, 0, 1, 1), (3, 2), LUT).shape == (2, 3, 4)


# -- the trajectory line -----------------------------------------------------------------


def crosses(a, b, rect: ViewRect) -> bool:
    """Whether segment a-b meets the rectangle (Liang–Barsky clipping)."""
    (ax, ay), (bx, by) = np.asarray(a, np.float64), np.asarray(b, np.float64)
    low, high = 0.0, 1.0
    for start, delta, lo, hi in ((ax, bx - ax, rect.x_min, rect.x_max),
                                 (ay, by - ay, rect.y_min, rect.y_max)):
        if delta == 0:
            if not lo <= start <= hi:
                return False
            continue
        t0, t1 = sorted(((lo - start) / delta, (hi - start) / delta))
        low, high = max(low, t0), min(high, t1)
    return low <= high


def drawn_segments(line) -> set[int]:
    """Rows i whose segment to i + 1 the polyline draws as it is."""
    joined = line.connect[:-1] & (np.diff(line.rows) == 1)
    return set(line.rows[:-1][joined].tolist())


walks = arrays(np.float32, st.tuples(st.integers(2, 120), st.just(2)),
               elements=st.floats(-3, 3, width=32))


@settings(max_examples=80, deadline=None)
@given(walks)
def test_under_the_limit_every_segment_that_meets_the_view_is_drawn(points) -> None:
    rect = ViewRect(-1.0, -0.5, 1.0, 1.5)
    line = decimate_line(points, rect, max_vertices=10_000)
    wanted = {i for i in range(len(points) - 1) if crosses(points[i], points[i + 1], rect)}
    assert wanted <= drawn_segments(line)
    assert np.array_equal(line.vertices, points[line.rows])
    beyond = [(line.vertices[:-1, 0] < rect.x_min) & (line.vertices[1:, 0] < rect.x_min),
              (line.vertices[:-1, 0] > rect.x_max) & (line.vertices[1:, 0] > rect.x_max),
              (line.vertices[:-1, 1] < rect.y_min) & (line.vertices[1:, 1] < rect.y_min),
              (line.vertices[:-1, 1] > rect.y_max) & (line.vertices[1:, 1] > rect.y_max)]
    assert not (line.connect[:-1] & np.any(beyond, axis=0)).any()  # nothing wholly off view


@settings(max_examples=80, deadline=None)
@given(walks, st.integers(2, 30))
def test_over_the_limit_the_line_keeps_its_ends_and_never_joins_across_a_gap(
        points, limit) -> None:
    rect = ViewRect(-1.0, -1.0, 1.0, 1.0)
    full = decimate_line(points, rect, max_vertices=10_000)
    line = decimate_line(points, rect, max_vertices=limit)
    assert len(line.rows) <= limit
    assert (np.diff(line.rows) > 0).all()
    if len(full.rows):
        assert line.rows[0] == full.rows[0] and line.rows[-1] == full.rows[-1]
    shown = drawn_segments(full)
    for a, b, joined in zip(line.rows[:-1], line.rows[1:], line.connect[:-1], strict=True):
        assert joined == all(i in shown for i in range(a, b))
    assert not line.connect[-1:].any()


def test_a_line_wholly_in_view_is_drawn_whole() -> None:
    t = np.linspace(0, 6, 500)
    points = np.column_stack([np.cos(t), np.sin(t)]).astype(np.float32)
    line = decimate_line(points, ViewRect(-2, -2, 2, 2), max_vertices=1000)
    assert line.rows.tolist() == list(range(500))
    assert line.connect.tolist() == [True] * 499 + [False]
    thin = decimate_line(points, ViewRect(-2, -2, 2, 2), max_vertices=50)
    assert len(thin.rows) == 50 and thin.connect[:-1].all()
    assert thin.rows[0] == 0 and thin.rows[-1] == 499
    assert np.diff(thin.rows).max() - np.diff(thin.rows).min() <= 1  # evenly spread


@pytest.mark.parametrize("count", [500, 30_000])
def test_a_view_of_the_whole_line_decimates_it_as_one_run(count):
    """The shortcut for a view holding every point draws what the general rule draws."""
    points = np.random.default_rng(3).standard_normal((count, 2)).astype(np.float32)
    rect = ViewRect(-10.0, -10.0, 10.0, 10.0)
    shortcut = decimate_line(points, rect, 20_000)
    general = decimate_line(points, rect, 20_000, joins=np.ones(count - 1, bool))
    for mine, theirs in zip(shortcut, general, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert shortcut.rows.dtype == general.rows.dtype


# -- the density pyramid -----------------------------------------------------------------


def pyramid_of(count: int, seed: int = 5, finest: int = 6):
    rng = np.random.default_rng(seed)
    points = rng.standard_normal((count, 2)).astype(np.float32) * (3.0, 1.0)
    values = rng.random(count)
    return points, values, DensityPyramid(*columns(points), values, finest=finest)


def dense(cells) -> tuple[np.ndarray, np.ndarray]:
    counts, sums = np.zeros(cells.shape, np.int64), np.zeros(cells.shape)
    counts.flat[cells.place], sums.flat[cells.place] = cells.counts, cells.sums
    return counts, sums


@pytest.mark.parametrize("level", [0, 1, 3, 6])
def test_a_level_holds_the_histogram_of_the_points_on_its_grid(level) -> None:
    points, values, pyramid = pyramid_of(3000)
    low, high = points.min(axis=0), points.max(axis=0)
    everything = ViewRect(*low.tolist(), *high.tolist())
    cells = pyramid.cells(level, everything)
    side = 2**level
    assert cells.shape == (side, side)
    assert cells.rect == pytest.approx(everything, abs=1e-6)
    counts, sums = brute_histogram(points, values, everything, side, side)
    got_counts, got_sums = dense(cells)
    np.testing.assert_array_equal(got_counts, counts)
    np.testing.assert_allclose(got_sums, sums, atol=1e-9)


def test_every_level_holds_every_point_and_a_view_takes_the_cells_that_meet_it() -> None:
    points, values, pyramid = pyramid_of(5000)
    assert len(pyramid.levels) == 7 and len(pyramid) == 5000
    for level in pyramid.levels:
        assert level.counts.sum() == 5000 and level.sums.sum() == pytest.approx(values.sum())
        assert (np.diff(level.keys) > 0).all()
    rect = ViewRect(-1.0, -0.5, 2.0, 0.7)
    cells = pyramid.cells(5, rect)
    assert cells.rect.x_min <= rect.x_min and cells.rect.x_max >= rect.x_max
    assert cells.rect.y_min <= rect.y_min and cells.rect.y_max >= rect.y_max
    # the block covers less than a cell more than the view on each side
    cell = pyramid.span / 32
    assert rect.x_min - cells.rect.x_min < cell[0] and cells.rect.x_max - rect.x_max <= cell[0]
    assert cells.shape == (round((cells.rect.y_max - cells.rect.y_min) / cell[1]),
                           round((cells.rect.x_max - cells.rect.x_min) / cell[0]))
    counts, sums = brute_histogram(points, values, cells.rect, *cells.shape[::-1])
    got_counts, got_sums = dense(cells)
    np.testing.assert_array_equal(got_counts, counts)
    np.testing.assert_allclose(got_sums, sums, atol=1e-9)


def test_a_view_is_drawn_from_the_level_whose_cells_are_about_its_pixels() -> None:
    points, values, pyramid = pyramid_of(5000)
    low, high = points.min(axis=0), points.max(axis=0)
    everything = ViewRect(*low.tolist(), *high.tolist())
    assert pyramid.level_for(everything, (16, 16)) == 4  # 16 cells a side: one a pixel
    assert pyramid.level_for(everything, (20, 20)) == 4  # cells of 1.25 pixels
    assert pyramid.level_for(everything, (24, 24)) == 5  # 1.5 pixels: too coarse
    assert pyramid.level_for(everything, (1, 1)) == 0
    assert pyramid.level_for(everything, (200, 200)) is None  # past the finest level
    drawn = pyramid.draw(everything, (16, 16), LUT)
    counts, sums = brute_histogram(points, values, everything, 16, 16)
    expected = colour_cells(counts, sums, LUT)
    filled = counts > 0  # (an empty cell's colour is undefined: only its alpha, 0, counts)
    np.testing.assert_array_equal(drawn.image[..., 3], expected[..., 3])
    np.testing.assert_array_equal(drawn.image[filled], expected[filled])
    assert drawn.rect == pytest.approx(everything, abs=1e-6)


@pytest.mark.parametrize("rect", [ViewRect(-0.3, -0.2, 0.1, 0.1), ViewRect(5.0, 5.0, 6.0, 6.0),
                                  ViewRect(-20.0, -20.0, 20.0, 20.0)])
def test_zoomed_in_past_the_finest_level_the_points_in_view_are_rasterised(rect) -> None:
    points, values, pyramid = pyramid_of(20_000, finest=3)
    # the whole map at more pixels than the finest level has cells, or a small part of it
    size = (800, 800) if rect.x_max - rect.x_min > 10 else (50, 40)
    assert pyramid.level_for(rect, size) is None
    inside = np.flatnonzero(rect.contains(points))
    assert set(inside) <= set(pyramid.rows_near(rect).tolist())
    drawn = pyramid.draw(rect, size, LUT)
    expected = rasterise(points, values, rect, size, LUT)
    assert drawn.rect == rect
    np.testing.assert_array_equal(drawn.image[..., 3], expected[..., 3])
    filled = expected[..., 3] > 0
    assert filled.any() or not len(inside)
    assert np.abs(drawn.image[filled].astype(int) - expected[filled]).max(initial=0) <= 1


def test_an_empty_pyramid_draws_nothing() -> None:
    pyramid = DensityPyramid(np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0))
    assert all(level.counts.sum() == 0 for level in pyramid.levels)
    assert not pyramid.draw(ViewRect(0, 0, 1, 1), (8, 6), LUT).image[..., 3].any()
