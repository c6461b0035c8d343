"""The colours of categories (a library's videos, scenes): the map's points and legend,
and the timeline's scene bands, agree."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

CATEGORY_MAP = "PAL-relaxed"
"""A palette whose last colour repeats its first."""
CATEGORY_ORDER = 4
"""Categories take every 4th colour of the palette's 9, so neighbours differ most."""


def category_colours() -> np.ndarray:
    """[K, 4] uint8 RGBA: category ``i`` is drawn in row ``i % K``."""
    palette = (pg.colormap.get(CATEGORY_MAP).color[:-1] * 255).round().astype(np.ubyte)
    return palette[(np.arange(len(palette)) * CATEGORY_ORDER) % len(palette)]
