"""Points drawn from arrays: a disc per point, each in one colour of a lookup table.

pyqtgraph's scatter keeps a brush per point and sorts out their symbols point by point
in Python whenever its data is set: 7 µs a point, 13 ms of a frame for the 1,800 points
a zoomed-in view of a million-point map may show, at every pan and zoom. This item is
set from two arrays (where, and which colour) and paints as the scatter does, with
``QPainter.drawPixmapFragments`` from an atlas of one pre-rendered disc per colour, so
setting it costs what copying the arrays costs. It draws, and nothing else: the large
map picks its points through its spatial index.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions as fn
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

# Coordinates farther out than this crash Qt's raster engine (pyqtgraph clips the same).
_FARTHEST = 2.0**30


class ShadedPoints(pg.GraphicsObject):
    """Discs of ``size`` pixels at data positions, each in one colour of a table."""

    def __init__(self, size: float) -> None:
        super().__init__()
        self._size = size
        self._xy = np.zeros((0, 2))
        self._shade = np.zeros(0, np.intp)
        self._lut = np.zeros((1, 4), np.uint8)
        self._atlas: QPixmap | None = None
        self._atlas_ratio = 0.0
        self._cell = 0
        self._fragments = pg.Qt.internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._extent = QRectF()

    def __len__(self) -> int:
        return len(self._xy)

    def colours(self) -> np.ndarray:
        """The colour [K, 4] uint8 (RGBA) each point is drawn in."""
        return self._lut[self._shade]

    def set_colours(self, lut: np.ndarray) -> None:
        """The colours [S, 4] uint8 (RGBA) that shades index."""
        self._lut = np.asarray(lut, np.uint8).reshape(-1, 4)
        self._atlas = None
        self.update()

    def set_points(self, xy: np.ndarray, shade: np.ndarray) -> None:
        """Draw points at ``xy`` [K, 2] (finite), point ``i`` in colour ``shade[i]``."""
        self.prepareGeometryChange()
        self._xy = np.asarray(xy, np.float64).reshape(-1, 2)
        self._shade = np.asarray(shade, np.intp).reshape(-1)
        if len(self._xy):
            low, high = self._xy.min(axis=0), self._xy.max(axis=0)
            self._extent = QRectF(low[0], low[1], high[0] - low[0], high[1] - low[1])
        else:
            self._extent = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        if not len(self._xy):
            return QRectF()
        half_x, half_y = self.pixelWidth() * self._size, self.pixelHeight() * self._size
        return self._extent.adjusted(-half_x, -half_y, half_x, half_y)

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()  # the discs' size in data units changed

    def paint(self, painter: QPainter, _option, widget) -> None:
        if not len(self._xy):
            return
        ratio = widget.devicePixelRatioF() if widget is not None else 1.0
        if self._atlas is None or ratio != self._atlas_ratio:
            self._render_atlas(ratio)
        centres = fn.transformCoordinates(painter.transform(), self._xy.T)
        centres = np.clip(centres, -_FARTHEST, _FARTHEST)
        painter.resetTransform()
        self._fragments.resize(len(self._xy))
        fragments = self._fragments.ndarray()
        fragments[:, 0:2] = centres.T  # the target's centre
        fragments[:, 2] = self._shade * self._cell  # the source rectangle in the atlas
        fragments[:, 3] = 0.0
        fragments[:, 4:6] = self._cell
        fragments[:, 6:10] = [1 / ratio, 1 / ratio, 0.0, 1.0]  # scale x, y, rotation, opacity
        painter.drawPixmapFragments(*self._fragments.drawargs(), self._atlas)

    def _render_atlas(self, ratio: float) -> None:
        """One disc per colour side by side: an antialiased disc's coverage, drawn once,
        times each colour (premultiplied)."""
        cell = 2 * math.ceil((self._size * ratio + 1) / 2)  # even: centres on pixel corners
        disc = QImage(cell, cell, QImage.Format.Format_ARGB32_Premultiplied)
        disc.fill(Qt.GlobalColor.transparent)
        painter = QPainter(disc)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255))
            radius = self._size * ratio / 2
            painter.drawEllipse(QRectF(cell / 2 - radius, cell / 2 - radius, 2 * radius,
                                       2 * radius))
        finally:
            painter.end()
        coverage = fn.ndarray_from_qimage(disc)[..., 3].astype(np.float32) / 255  # [cell, cell]
        alpha = coverage[:, None, :] * (self._lut[:, 3].astype(np.float32) / 255)[None, :, None]
        atlas = np.empty((cell, len(self._lut), cell, 4), np.uint8)
        atlas[..., :3] = np.rint(self._lut[None, :, None, :3] * alpha[..., None])
        atlas[..., 3] = np.rint(alpha * 255)
        atlas = np.ascontiguousarray(atlas.reshape(cell, len(self._lut) * cell, 4))
        image = QImage(atlas.data, atlas.shape[1], cell, atlas.strides[0],
                       QImage.Format.Format_RGBA8888_Premultiplied)
        self._atlas = QPixmap.fromImage(image.copy())  # the copy owns its pixels
        self._atlas_ratio, self._cell = ratio, cell

