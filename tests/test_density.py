"""Level of detail: the density image of many points, the decimated trajectory line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.latent.density import MIN_ALPHA, decimate_line, rasterise
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
