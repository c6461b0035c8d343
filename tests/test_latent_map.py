"""The latent map widget on its own: how it colours and draws a trajectory."""

import warnings

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint

from explorer.latent import map_points
from explorer.latent.synthetic import random_walk_trajectory
from explorer.state.colouring import PointColours
from explorer.ui.latent_map import COLOUR_MAP, COLOUR_STEPS, LatentMap
from explorer.ui.map_detail import DETAIL_LIMIT, POINTS_IN_VIEW
from tests.gui_helpers import click, drag, hover


def test_points_are_coloured_by_time_from_a_lookup_table(qtbot):
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    count = 1000
    latent_map.set_trajectory(np.random.default_rng(0).normal(size=(count, 2)),
                              PointColours(np.linspace(3.0, 43.0, count), "time (s)"))
    np.testing.assert_array_equal(latent_map.detail.drawn_rows, np.arange(count))
    colours = latent_map.detail.shown.colours()
    table = pg.colormap.get(COLOUR_MAP).getLookupTable(nPts=COLOUR_STEPS)
    for row, shade in ((0, 0), (count - 1, COLOUR_STEPS - 1), (count // 2, 128)):
        assert tuple(colours[row][:3]) == tuple(table[shade][:3])


def test_categories_take_palette_colours_a_legend_and_hidden_ones_are_not_drawn(qtbot):
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    groups = np.repeat([0, 1, 2], [5, 7, 4])
    points = np.random.default_rng(1).normal(size=(len(groups), 2))
    colours = PointColours(groups, "video", ("a.mp4", "b.mp4", "c.mp4"))
    latent_map.set_trajectory(points, colours, groups=groups)
    drawn = latent_map.detail.shown.colours()
    shades = [{tuple(drawn[row]) for row in np.flatnonzero(groups == g)} for g in range(3)]
    assert all(len(shade) == 1 for shade in shades), "one colour a category"
    assert len(set.union(*shades)) == 3, "each category its own colour"
    assert latent_map.legend.isVisible() and not latent_map._colour_bar.isVisible()
    assert [label.text for _, label in latent_map.legend.items] == ["a.mp4", "b.mp4", "c.mp4"]
    assert len(latent_map._line.getData()[1]) == len(groups)
    connect = latent_map._line.opts["connect"]
    assert not connect[4] and not connect[11], "the line never joins two categories"
    assert connect[:4].all() and connect[5:11].all()

    shown = groups != 1
    latent_map.set_trajectory(points, colours, shown=shown, groups=groups)
    np.testing.assert_array_equal(latent_map.detail.drawn_rows, np.flatnonzero(shown))
    assert latent_map.shown_count == 9 and latent_map.point_count == 16
    with qtbot.waitSignal(latent_map.categoryToggled) as toggled:
        latent_map.legend.sigSampleClicked.emit(latent_map.legend_entry(2))
    assert toggled.args == [2, True]


LARGE = 200_000


@pytest.fixture
def large_map(qtbot):
    """A map holding a 200,000-point random walk, its spatial index built."""
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    latent_map.resize(800, 600)
    latent_map.show()
    walk = random_walk_trajectory(LARGE, dim=2, seed=3).mu
    latent_map.set_trajectory(walk, PointColours(np.arange(LARGE) / 24.0, "time (s)"))
    qtbot.waitUntil(lambda: latent_map.shown_count == LARGE and latent_map.detail.index
                    is not None, timeout=60_000)
    return latent_map, walk


def brute_nearest(walk: np.ndarray, x: float, y: float, pixel: tuple[float, float]) -> int:
    """The point nearest (x, y) on screen: distances in pixels, which are not square in
    data units."""
    return int(np.argmin(np.hypot((walk[:, 0] - x) / pixel[0], (walk[:, 1] - y) / pixel[1])))


def test_a_large_trajectory_is_drawn_as_density_until_few_points_are_in_view(large_map, qtbot):
    latent_map, walk = large_map
    assert latent_map.point_count == LARGE
    assert latent_map.detail.showing_density and len(latent_map.detail.shown) == 0
    image = latent_map.detail.image.image
    assert image.shape[2] == 4 and (image[..., 3] > 0).any() and (image[..., 3] == 0).any()

    x, y = map(float, walk[1234])  # zoom in around one point: few enough to draw singly
    with qtbot.waitSignal(latent_map.detail.refreshed, timeout=10_000):
        latent_map.setRange(xRange=(x - 0.01, x + 0.01), yRange=(y - 0.01, y + 0.01),
                            padding=0)
    rows = latent_map.detail.drawn_rows
    assert not latent_map.detail.showing_density
    assert 0 < len(rows) <= POINTS_IN_VIEW and 1234 in rows
    (x0, x1), (y0, y1) = latent_map.viewRange()
    inside = ((walk[:, 0] >= x0) & (walk[:, 0] <= x1) & (walk[:, 1] >= y0) & (walk[:, 1] <= y1))
    assert set(rows.tolist()) == set(np.flatnonzero(inside).tolist())


def test_a_large_float32_map_fits_its_view_without_overflow_warnings(large_map):
    latent_map, walk = large_map
    assert walk.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyqtgraph compares the range with ±1e307
        latent_map.fit_view()
    (x_low, x_high), _ = latent_map.viewRange()
    assert x_low <= walk[:, 0].min() and x_high >= walk[:, 0].max()


def test_hover_and_click_pick_points_of_the_density_image(large_map, qtbot):
    latent_map, walk = large_map
    hovered, clicked = [], []
    latent_map.frameHovered.connect(hovered.append)
    latent_map.frameClicked.connect(clicked.append)
    row = 150_000
    where = latent_map.to_scene(*walk[row])
    hover(latent_map.viewport(), where)
    qtbot.waitUntil(lambda: bool(hovered), timeout=5_000)
    x, y = latent_map.getPlotItem().vb.mapSceneToView(latent_map.mapToScene(where)).toTuple()
    assert hovered[-1] == brute_nearest(walk, x, y, latent_map.getPlotItem().vb.viewPixelSize())
    click(latent_map.viewport(), where)
    qtbot.waitUntil(lambda: bool(clicked), timeout=5_000)
    assert clicked[-1] == hovered[-1]
    menu = latent_map.build_context_menu(x, y)
    assert menu.actions()[0].text() == "Add this frame as a keyframe"


def test_hover_click_and_drag_the_points_a_zoomed_in_large_map_draws(large_map, qtbot):
    """Zoomed in, a large map draws its points one by one (not the scatter's): the
    pointer finds them through the index, as on the density image."""
    latent_map, walk = large_map
    view = latent_map.getPlotItem().vb
    x, y = map(float, walk[60_000])
    with qtbot.waitSignal(latent_map.detail.refreshed, timeout=10_000):
        latent_map.setRange(xRange=(x - 0.05, x + 0.05), yRange=(y - 0.05, y + 0.05),
                            padding=0)
    assert not latent_map.detail.showing_density and 60_000 in latent_map.detail.drawn_rows
    hovered, clicked, released = [], [], []
    latent_map.frameHovered.connect(hovered.append)
    latent_map.frameClicked.connect(clicked.append)
    latent_map.pointReleased.connect(lambda row, x, y: released.append(row))
    where = latent_map.to_scene(*walk[60_000])
    hover(latent_map.viewport(), where)
    qtbot.waitUntil(lambda: bool(hovered), timeout=5_000)
    at = view.mapSceneToView(latent_map.mapToScene(where)).toTuple()
    picked = brute_nearest(walk, *at, view.viewPixelSize())
    assert hovered[-1] == picked
    click(latent_map.viewport(), where)
    qtbot.waitUntil(lambda: bool(clicked), timeout=5_000)
    assert clicked[-1] == picked
    before = latent_map.viewRange()
    drag(latent_map.viewport(), where, where + QPoint(30, 20))
    assert released == [picked] and latent_map.viewRange() == before


def test_a_drag_from_a_point_of_the_density_image_drags_that_point(large_map, qtbot):
    latent_map, walk = large_map
    assert latent_map.detail.showing_density
    dragged, released = [], []
    latent_map.pointDragged.connect(lambda row, x, y: dragged.append((row, x, y)))
    latent_map.pointReleased.connect(lambda row, x, y: released.append((row, x, y)))
    before = latent_map.viewRange()
    start = latent_map.to_scene(*walk[40_000])  # a pixel, as a pointer is
    x, y = latent_map.getPlotItem().vb.mapSceneToView(latent_map.mapToScene(start)).toTuple()
    picked = brute_nearest(walk, x, y, latent_map.getPlotItem().vb.viewPixelSize())
    drag(latent_map.viewport(), start, start + QPoint(60, 40))
    assert dragged and released and {row for row, _, _ in dragged + released} == {picked}
    assert latent_map.viewRange() == before, "the view did not pan"
    end = latent_map.getPlotItem().vb.mapSceneToView(
        latent_map.mapToScene(start + QPoint(60, 40)))
    assert released[0][1:] == pytest.approx(end.toTuple(), abs=1e-6)

    view = latent_map.getPlotItem().vb
    empty = next(pixel for pixel in (QPoint(x, y) for x in range(100, 700, 20)
                                     for y in range(100, 500, 20))
                 if latent_map._point_at(
                     *view.mapSceneToView(latent_map.mapToScene(pixel)).toTuple()) < 0)
    drag(latent_map.viewport(), empty, empty + QPoint(-50, 0))  # nowhere near a point
    assert latent_map.viewRange() != before, "a drag from empty space pans"


def test_a_long_line_is_decimated_under_the_density_image_and_exact_zoomed_in(qtbot,
                                                                             monkeypatch):
    """One thin antialiased pen at every length (Qt's fast path: 1,000 vertices stroke in
    2 ms at 1 px, 33 ms at 1.5); a few thousand vertices over a density image."""
    from explorer.ui.map_detail import DENSITY_LINE_VERTICES, LINE_VERTICES

    monkeypatch.setitem(pg.CONFIG_OPTIONS, "antialias", True)  # as the app draws
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    latent_map.resize(800, 600)
    latent_map.show()
    line = latent_map._line
    assert line.opts["antialias"] and line.opts["pen"].widthF() == 1
    small = random_walk_trajectory(1000, dim=2, seed=3).mu
    latent_map.set_trajectory(small, PointColours(np.arange(1000) / 24.0, "time (s)"))
    assert len(line.getData()[0]) == 1000

    count = DETAIL_LIMIT + 10_000
    walk = random_walk_trajectory(count, dim=2, seed=3).mu
    with qtbot.waitSignal(latent_map.detail.pointsShown, timeout=10_000):  # on a thread
        latent_map.set_trajectory(walk, PointColours(np.arange(count) / 24.0, "time (s)"))
    assert latent_map.detail.showing_density
    assert len(line.getData()[0]) == DENSITY_LINE_VERTICES < LINE_VERTICES
    assert line.curve.opts["antialias"] and line.curve.opts["pen"].widthF() == 1
    (x0, x1), (y0, y1) = latent_map.viewRange()  # the view fitted to every point
    assert x0 <= walk[:, 0].min() and x1 >= walk[:, 0].max()
    assert y0 <= walk[:, 1].min() and y1 >= walk[:, 1].max()

    x, y = map(float, walk[1234])
    with qtbot.waitSignal(latent_map.detail.refreshed, timeout=10_000):
        latent_map.setRange(xRange=(x - 0.01, x + 0.01), yRange=(y - 0.01, y + 0.01),
                            padding=0)
    shown = line.getData()[0]
    assert 0 < len(shown) < DENSITY_LINE_VERTICES and np.isin(shown, walk[:, 0]).all()


def test_a_second_layout_of_the_same_values_is_coloured_as_the_first(qtbot, monkeypatch):
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    walk = random_walk_trajectory(500, dim=2, seed=3).mu
    times = np.arange(500) / 24.0
    shaded = []
    shade = map_points.shade
    monkeypatch.setattr(map_points, "shade", lambda *args: shaded.append(1) or shade(*args))
    latent_map.set_trajectory(walk, PointColours(times, "time (s)"))
    first = latent_map.detail.shown.colours()
    latent_map._colour_bar.setLevels((5.0, 6.0))
    latent_map.set_trajectory(walk * 2.0, PointColours(times, "time (s)"))  # another layout
    assert len(shaded) == 1
    assert latent_map._colour_bar.levels() == pytest.approx((0.0, times[-1])), "the key too"
    np.testing.assert_array_equal(latent_map.detail.shown.colours(), first)
    latent_map.set_trajectory(walk, PointColours(times[::-1].copy(), "time (s)"))
    assert len(shaded) == 2
    np.testing.assert_array_equal(latent_map.detail.shown.colours()[0], first[-1])


def test_a_large_map_is_prepared_on_a_thread_and_the_newest_points_win(qtbot):
    """A large trajectory's shades and columns are made off the window's thread: the
    window keeps the last picture meanwhile, and what was asked last is what is drawn,
    even when a small trajectory comes while a large one is prepared."""
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    latent_map.resize(800, 600)
    latent_map.show()
    count = DETAIL_LIMIT + 5_000
    first = random_walk_trajectory(count, dim=2, seed=3).mu
    second = first * 3.0 + 100.0
    colours = PointColours(np.arange(count) / 24.0, "time (s)")
    shown = []
    latent_map.detail.pointsShown.connect(shown.append)
    latent_map.set_trajectory(first, colours)
    assert latent_map.detail.pending and latent_map.shown_count == 0, "not made here"
    latent_map.set_trajectory(second, colours)  # asked while the first is prepared
    qtbot.waitUntil(lambda: not latent_map.detail.pending, timeout=10_000)
    assert [points.embedding[0, 0] for points in shown] == [second[0, 0]]
    (x0, x1), _ = latent_map.viewRange()
    assert x0 <= second[:, 0].min() and x1 >= second[:, 0].max(), "fitted to the newest"
    assert x0 > first[:, 0].max(), "not to the first"

    latent_map.set_trajectory(first, colours)
    small = random_walk_trajectory(100, dim=2, seed=4).mu
    latent_map.set_trajectory(small, PointColours(np.arange(100.0), "time (s)"))  # at once
    assert latent_map.shown_count == 100 and not latent_map.detail.pending
    qtbot.wait(300)  # the large one's preparation ends meanwhile, and is dropped
    assert latent_map.shown_count == 100 and len(latent_map.detail.shown) == 100


def test_a_large_map_is_drawn_from_its_pyramid_zoomed_out_and_points_zoomed_in(large_map, qtbot):
    from explorer.latent.density import decimate_line
    from explorer.latent.spatial import ViewRect
    from explorer.ui.map_detail import DENSITY_LINE_VERTICES, LINE_VERTICES

    latent_map, walk = large_map
    detail, line = latent_map.detail, latent_map._line
    qtbot.waitUntil(lambda: detail.pyramid is not None, timeout=60_000)
    assert len(detail.pyramid) == LARGE

    def zoom(x: float, y: float, half: float) -> ViewRect:
        with qtbot.waitSignal(detail.refreshed, timeout=10_000):
            latent_map.setRange(xRange=(x - half, x + half), yRange=(y - half, y + half),
                                padding=0)
        return ViewRect.from_range(latent_map.viewRange())

    x, y = map(float, walk[1234])
    for half in (3.0, 1.0):  # zoomed out: the pyramid's cells about the view's pixels
        rect = zoom(x, y, half)
        assert detail.index.count_in(rect) > POINTS_IN_VIEW
        assert detail.showing_density and len(detail.shown) == 0
        image, box = detail.image.image, detail.image.mapRectToView(detail.image.boundingRect())
        low, high = detail.bounds()  # the image covers the view's part of the map
        assert box.left() <= max(rect.x_min, low[0]) and box.right() >= min(rect.x_max, high[0])
        assert box.top() <= max(rect.y_min, low[1]) and box.bottom() >= min(rect.y_max, high[1])
        pixel_x, pixel_y = latent_map.getPlotItem().vb.viewPixelSize()
        cell_pixels = box.width() / image.shape[1] * box.height() / image.shape[0]
        assert 0.5 <= cell_pixels / (pixel_x * pixel_y) <= 2.0  # about a pixel a cell
        assert 100 < len(line.getData()[0]) <= DENSITY_LINE_VERTICES

    zoom(x, y, 0.01)  # a few points: drawn one by one, with the exact line
    assert not detail.showing_density and len(detail.shown) > 0
    exact = decimate_line(walk, ViewRect.from_range(latent_map.viewRange()), LINE_VERTICES)
    np.testing.assert_array_equal(np.column_stack(line.getData()), exact.vertices)


@pytest.mark.parametrize("zoom", [1.0, 7.3, 240.0])
def test_the_grid_draws_what_pyqtgraphs_grid_item_draws(qtbot, monkeypatch, zoom):
    """MapGrid lays its lines out a level at a time, for speed: the map looks the same,
    pixel for pixel, as with pyqtgraph's GridItem, and not as without a grid."""
    from explorer.ui import latent_map

    walk = np.cumsum(np.random.default_rng(0).normal(size=(3000, 2)), axis=0)

    def picture(grid) -> np.ndarray:
        monkeypatch.setattr(latent_map, "MapGrid", grid)
        view = LatentMap()
        qtbot.addWidget(view)
        view.resize(640, 480)
        view.show()
        view.set_trajectory(walk.astype(np.float32), PointColours(np.arange(3000.0), "t"),
                            fit=True)
        (x0, x1), (y0, y1) = view.viewRange()
        half = np.array([x1 - x0, y1 - y0]) / 2 / zoom
        middle = np.array([x0 + x1, y0 + y1]) / 2
        view.setRange(xRange=middle[0] + half[0] * np.array([-1, 1]),
                      yRange=middle[1] + half[1] * np.array([-1, 1]), padding=0)
        image = view.grab().toImage()
        return np.array(image.constBits()).reshape(image.height(), image.width(), 4).copy()

    mine = picture(latent_map.MapGrid)
    np.testing.assert_array_equal(mine, picture(lambda: pg.GridItem(textPen=None)))
    no_grid = type("NoGrid", (pg.GridItem,), {"generatePicture": lambda self: None})
    assert (mine != picture(no_grid)).any()
