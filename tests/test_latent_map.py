"""The latent map widget on its own: how it colours and draws a trajectory."""

import numpy as np
import pyqtgraph as pg
import pytest

from explorer.latent.synthetic import random_walk_trajectory
from explorer.ui.latent_map import COLOUR_MAP, COLOUR_STEPS, LatentMap
from explorer.ui.map_detail import DETAIL_LIMIT
from tests.gui_helpers import click, hover


def test_points_are_coloured_by_time_from_a_lookup_table(qtbot):
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    count = 1000
    latent_map.set_trajectory(np.random.default_rng(0).normal(size=(count, 2)),
                              np.linspace(3.0, 43.0, count))
    brushes = latent_map._points.data["brush"]
    table = pg.colormap.get(COLOUR_MAP).getLookupTable(nPts=COLOUR_STEPS)
    for row, shade in ((0, 0), (count - 1, COLOUR_STEPS - 1), (count // 2, 128)):
        colour = brushes[row].color()
        assert (colour.red(), colour.green(), colour.blue()) == tuple(table[shade][:3])
    assert len({id(brush) for brush in brushes}) <= COLOUR_STEPS, "brushes are shared"


LARGE = 200_000


@pytest.fixture
def large_map(qtbot):
    """A map holding a 200,000-point random walk, its spatial index built."""
    latent_map = LatentMap()
    qtbot.addWidget(latent_map)
    latent_map.resize(800, 600)
    latent_map.show()
    walk = random_walk_trajectory(LARGE, dim=2, seed=3).mu
    latent_map.set_trajectory(walk, np.arange(LARGE) / 24.0)
    qtbot.waitUntil(lambda: latent_map.detail.index is not None, timeout=60_000)
    return latent_map, walk


def brute_nearest(walk: np.ndarray, x: float, y: float, pixel: tuple[float, float]) -> int:
    """The point nearest (x, y) on screen: distances in pixels, which are not square in
    data units."""
    return int(np.argmin(np.hypot((walk[:, 0] - x) / pixel[0], (walk[:, 1] - y) / pixel[1])))


def test_a_large_trajectory_is_drawn_as_density_until_few_points_are_in_view(large_map, qtbot):
    latent_map, walk = large_map
    assert latent_map.point_count == LARGE
    assert latent_map.detail.showing_density and len(latent_map._points.data) == 0
    image = latent_map.detail.image.image
    assert image.shape[2] == 4 and (image[..., 3] > 0).any() and (image[..., 3] == 0).any()

    x, y = map(float, walk[1234])  # zoom in around one point: few enough to draw singly
    with qtbot.waitSignal(latent_map.detail.refreshed, timeout=10_000):
        latent_map.setRange(xRange=(x - 0.01, x + 0.01), yRange=(y - 0.01, y + 0.01),
                            padding=0)
    rows = latent_map._points.data["data"]
    assert not latent_map.detail.showing_density
    assert 0 < len(rows) <= DETAIL_LIMIT and 1234 in rows
    (x0, x1), (y0, y1) = latent_map.viewRange()
    inside = ((walk[:, 0] >= x0) & (walk[:, 0] <= x1) & (walk[:, 1] >= y0) & (walk[:, 1] <= y1))
    assert set(rows.tolist()) == set(np.flatnonzero(inside).tolist())


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
