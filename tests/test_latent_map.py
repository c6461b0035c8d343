"""The latent map widget on its own: how it colours and draws a trajectory."""

import numpy as np
import pyqtgraph as pg

from explorer.ui.latent_map import COLOUR_MAP, COLOUR_STEPS, LatentMap


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
