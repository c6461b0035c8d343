"""ShadedPoints draws what pyqtgraph's scatter draws, from two arrays."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from explorer.ui.shaded_points import ShadedPoints

COLOURS = np.array([[230, 40, 40, 255], [40, 200, 60, 255], [50, 80, 240, 255],
                    [250, 200, 0, 120]], np.uint8)


@pytest.fixture
def plot(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(240, 200)
    plot.show()
    plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    picture(plot)  # laid out
    return plot


def picture(plot, item=None) -> np.ndarray:
    """The plot drawn with ``item`` in it (then taken out again)."""
    if item is not None:
        plot.addItem(item)
    image = plot.grab().toImage()
    if item is not None:
        plot.removeItem(item)
    bgra = np.array(image.constBits()).reshape(image.height(), image.width(), 4)
    return bgra[..., [2, 1, 0]]  # ARGB32 is B, G, R, A in memory here


def test_points_look_as_the_scatter_draws_them_in_their_shades_colours(plot):
    rng = np.random.default_rng(0)
    xy = rng.uniform(1, 9, (40, 2))
    shade = rng.integers(0, len(COLOURS), 40)
    points = ShadedPoints(7)
    points.set_colours(COLOURS)
    points.set_points(xy, shade)
    mine = picture(plot, points).astype(int)
    scatter = pg.ScatterPlotItem(pos=xy, size=7, pen=None,
                                 brush=[pg.mkBrush(*COLOURS[s]) for s in shade])
    theirs = picture(plot, scatter).astype(int)
    empty = picture(plot).astype(int)
    drawn = (theirs != empty).any(axis=2)
    assert drawn.sum() > 40 * 20, "the scatter drew its discs"
    assert ((mine != empty).any(axis=2) == drawn).mean() > 0.99
    assert np.abs(mine - theirs).max() <= 16  # antialiased rims, a shade apart at most


def test_points_are_set_again_and_cleared(plot):
    points = ShadedPoints(9)
    points.set_colours(COLOURS)

    def colour_at(x: float, y: float, image: np.ndarray) -> tuple[int, ...]:
        scene = plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
        pixel = plot.mapFromScene(scene)
        return tuple(image[pixel.y(), pixel.x()])

    points.set_points(np.array([[2.0, 2.0]]), np.array([0]))
    first = picture(plot, points)
    assert colour_at(2, 2, first) == tuple(COLOURS[0, :3])
    points.set_points(np.array([[7.0, 7.0], [3.0, 8.0]]), np.array([2, 1]))
    second = picture(plot, points)
    assert colour_at(7, 7, second) == tuple(COLOURS[2, :3])
    assert colour_at(3, 8, second) == tuple(COLOURS[1, :3])
    assert colour_at(2, 2, second) == colour_at(5, 5, second), "the first point is gone"
    points.set_points(np.zeros((0, 2)), np.zeros(0, int))
    assert len(points) == 0 and (picture(plot, points) == picture(plot)).all()
