"""The latent map: the trajectory in 2-D, coloured by time, with a probe you can drag.

Everything here is in the plot's data coordinates (the projection's 2-D space). The map
knows nothing about models: it reports clicks, hovers, drags, drawn paths and context-menu
choices as signals, and the main window turns positions into latents through the
projection's fast inverse.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QCursor, QPixmap
from PySide6.QtWidgets import QLabel, QMenu

from explorer.ui.images import to_qimage
from explorer.ui.map_detail import LevelOfDetail

COLOUR_MAP = "viridis"
COLOUR_STEPS = 256
"""Shades of the colour map the points are drawn in (a lookup table)."""
PICK_PIXELS = 5
"""How near the pointer a point is picked, through the spatial index."""
HOVER_OFFSET = 16


class _DraggableScatter(pg.ScatterPlotItem):
    """A scatter whose points can be dragged; reports where, never moves the data itself."""

    pointDragged = Signal(int, float, float)
    pointReleased = Signal(int, float, float)

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._dragged: int | None = None

    def mouseDragEvent(self, event) -> None:
        drawing = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.button() != Qt.MouseButton.LeftButton or drawing:
            event.ignore()  # Shift+drag draws a path: the view box handles it
            return
        if event.isStart():
            points = self.pointsAt(event.buttonDownPos())
            if len(points) == 0:
                event.ignore()
                return
            self._dragged = int(points[0].data())
        if self._dragged is None:
            event.ignore()
            return
        event.accept()
        position = event.pos()
        if event.isFinish():
            index, self._dragged = self._dragged, None
            self.pointReleased.emit(index, position.x(), position.y())
        else:
            self.pointDragged.emit(self._dragged, position.x(), position.y())


class _MapViewBox(pg.ViewBox):
    """Pans and zooms as usual; Shift+drag draws a path, right-click asks for a menu."""

    pathDrawn = Signal(object)  # np.ndarray [M, 2] in data coordinates
    contextRequested = Signal(float, float)
    clicked = Signal(float, float)  # a left click that no point took, in data coordinates

    def __init__(self) -> None:
        super().__init__()
        self._stroke: list[tuple[float, float]] = []
        self.stroke_item = pg.PlotDataItem(pen=pg.mkPen((220, 60, 160), width=2))

    def mouseDragEvent(self, event, axis=None) -> None:
        drawing = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if not drawing or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(event, axis)
            return
        event.accept()
        if event.isStart():
            self._stroke = [self._view_point(event.buttonDownScenePos())]
        self._stroke.append(self._view_point(event.scenePos()))
        points = np.array(self._stroke)
        self.stroke_item.setData(points[:, 0], points[:, 1])
        if event.isFinish():
            self.stroke_item.setData([], [])
            self._stroke = []
            if len(points) >= 2:
                self.pathDrawn.emit(points)

    def mouseClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            event.accept()
            x, y = self._view_point(event.scenePos())
            self.contextRequested.emit(x, y)
        else:
            if event.button() == Qt.MouseButton.LeftButton:
                self.clicked.emit(*self._view_point(event.scenePos()))
            super().mouseClickEvent(event)

    def _view_point(self, scene_pos) -> tuple[float, float]:
        point = self.mapSceneToView(scene_pos)
        return point.x(), point.y()


class LatentMap(pg.PlotWidget):
    """Draws a trajectory's 2-D embedding and reports what the user does on it."""

    frameClicked = Signal(int)
    frameHovered = Signal(int)  # -1 when the pointer leaves the points
    probeMoved = Signal(float, float)
    probeReleased = Signal(float, float)
    pointDragged = Signal(int, float, float)
    pointReleased = Signal(int, float, float)
    pathDrawn = Signal(object)  # np.ndarray [M, 2]
    keyframeAtPoint = Signal(int)  # context menu: this point's frame as a keyframe
    keyframeAtPosition = Signal(float, float)  # context menu: a probe keyframe here

    def __init__(self) -> None:
        self._view = _MapViewBox()
        super().__init__(viewBox=self._view)
        self.setMenuEnabled(False)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.getPlotItem().hideButtons()
        self.set_axis_names("PCA 1", "PCA 2")
        for side in ("bottom", "left"):  # latents are small numbers: "0.5", not "500 ×0.001"
            self.getAxis(side).enableAutoSIPrefix(False)
        self._colour_map = pg.colormap.get(COLOUR_MAP)
        lookup = self._colour_map.getLookupTable(nPts=COLOUR_STEPS, alpha=True)
        self._brushes = np.array(  # shared by the points: one brush a shade, not a point
            [pg.mkBrush(*colour) for colour in lookup], dtype=object)
        self._line = pg.PlotDataItem(pen=pg.mkPen((150, 150, 150, 110), width=1.5))
        self._points = _DraggableScatter(size=7, pen=None, hoverable=True, tip=None)
        self._current = pg.ScatterPlotItem(
            size=18, pen=pg.mkPen((255, 80, 60), width=2.5), brush=None, symbol="o"
        )
        self._drag_ghost = pg.PlotDataItem(
            pen=pg.mkPen((235, 130, 0), width=1.5, style=Qt.PenStyle.DashLine),
            symbol="o",
            symbolSize=[0, 12],
            symbolBrush=(235, 130, 0),
            symbolPen=None,
        )
        self.probe = pg.TargetItem(
            pos=(0, 0),
            size=16,
            movable=True,
            pen=pg.mkPen((235, 130, 0), width=2),
            label="probe",
            labelOpts={"color": (235, 130, 0), "offset": (10, -10)},
        )
        self._path = pg.PlotDataItem(
            pen=pg.mkPen((220, 60, 160), width=2, style=Qt.PenStyle.DashLine)
        )
        self._keyframes = pg.ScatterPlotItem(
            size=14, symbol="d", pen=pg.mkPen((220, 60, 160), width=2), brush=(255, 255, 255, 90)
        )
        self._playhead = pg.ScatterPlotItem(size=13, symbol="o", pen=pg.mkPen("w", width=1.5),
                                            brush=(220, 60, 160))
        for item in (
            self._line,
            self._points,
            self._path,
            self._keyframes,
            self._playhead,
            self._current,
            self._drag_ghost,
            self.probe,
            self._view.stroke_item,
        ):
            self.addItem(item)
        self.probe.setZValue(10)
        self.detail = LevelOfDetail(self._view, self._points, self._line, lookup, self._brushes)
        self.scene().sigMouseMoved.connect(self._hover_by_index)
        self._view.clicked.connect(self._click_by_index)
        self._colour_bar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=self._colour_map,
            interactive=False,
            width=12,
            label="time (s)",
        )
        self.getPlotItem().layout.addItem(self._colour_bar, 2, 5)
        self._hover_tip = QLabel(self)
        self._hover_tip.setStyleSheet(
            "background: palette(tool-tip-base); color: palette(tool-tip-text);"
            "border: 1px solid palette(mid); padding: 3px;"
        )
        self._hover_tip.hide()
        self._hovered = -1

        self._points.sigClicked.connect(self._on_points_clicked)
        self._points.sigHovered.connect(self._on_points_hovered)
        self._points.pointDragged.connect(self._on_point_dragged)
        self._points.pointReleased.connect(self._on_point_released)
        self._view.pathDrawn.connect(self.pathDrawn)
        self._view.contextRequested.connect(self._show_context_menu)
        self.probe.sigPositionChanged.connect(
            lambda item: self.probeMoved.emit(item.pos().x(), item.pos().y())
        )
        self.probe.sigPositionChangeFinished.connect(
            lambda item: self.probeReleased.emit(item.pos().x(), item.pos().y())
        )
        self.probe.sigPositionChanged.connect(self._keep_probe_label_inside)
        self._view.sigRangeChanged.connect(self._keep_probe_label_inside)
        self._embedding = np.zeros((0, 2), np.float32)

    @property
    def point_count(self) -> int:
        return len(self._embedding)

    @property
    def hovered(self) -> int:
        return self._hovered

    def set_aspect_locked(self, locked: bool) -> None:
        """One unit is as long across as up (for PCA, where distances mean something)."""
        self.getPlotItem().vb.setAspectLocked(locked, ratio=1.0)

    @property
    def aspect_locked(self) -> bool:
        return bool(self.getPlotItem().vb.state["aspectLocked"])

    def set_axis_names(self, x: str, y: str) -> None:
        self.setLabel("bottom", x)
        self.setLabel("left", y)

    def set_trajectory(self, embedding: np.ndarray, time_s: np.ndarray, fit: bool = True) -> None:
        """Show a trajectory (or the part encoded so far); ``fit`` rescales the view."""
        self._embedding = np.asarray(embedding, dtype=np.float32)
        time_s = np.asarray(time_s, dtype=np.float64)[: len(self._embedding)]
        if len(time_s) == 0:  # nothing open
            self.detail.set_points(self._embedding, np.zeros(0, np.intp))
            for item in (self._line, self._points, self._current, self._path, self._keyframes):
                item.setData([], [])
            return
        span = max(float(time_s[-1] - time_s[0]), 1e-9)
        shade = np.round((time_s - time_s[0]) / span * (COLOUR_STEPS - 1)).astype(np.intp)
        self._colour_bar.setLevels((float(time_s[0]), float(time_s[0]) + span))
        self.detail.set_points(self._embedding, shade)
        if not self.detail.active:  # few enough to draw every one
            self._line.setData(self._embedding[:, 0], self._embedding[:, 1])
            self._points.setData(pos=self._embedding, brush=self._brushes[shade],
                                 data=np.arange(len(shade)))
        if fit:
            self.fit_view()

    def fit_view(self) -> None:
        """Fit the view to the trajectory's points, not to a probe or path elsewhere."""
        if self.detail.active:  # the scatter holds only the points in view
            low, high = self._embedding.min(axis=0).tolist(), self._embedding.max(axis=0).tolist()
            self._view.setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]))
        elif len(self._embedding):
            self.getPlotItem().vb.autoRange(items=[self._points])

    def set_current(self, index: int) -> None:
        if 0 <= index < len(self._embedding):
            self._current.setData(pos=self._embedding[index : index + 1])

    def marker_position(self) -> tuple[float, float] | None:
        """Where the current-frame marker is drawn, or None before there is one."""
        x, y = self._current.getData()
        return (float(x[0]), float(y[0])) if len(x) else None

    def point_position(self, index: int) -> tuple[float, float]:
        """Where point ``index`` is drawn, in data coordinates."""
        x, y = self._embedding[index]
        return float(x), float(y)

    def show_path(self, points: np.ndarray | None) -> None:
        """Draw the clip's path ([M, 2]), or remove it with None."""
        if points is None or len(points) == 0:
            self._path.setData([], [])
        else:
            self._path.setData(points[:, 0], points[:, 1])

    def show_keyframes(self, points: np.ndarray) -> None:
        self._keyframes.setData(pos=np.asarray(points, np.float32).reshape(-1, 2))

    def show_playhead(self, point: tuple[float, float] | None) -> None:
        """Mark where a clip's preview is (None removes the mark)."""
        self._playhead.setData(pos=np.zeros((0, 2)) if point is None else [point])

    def playhead_position(self) -> tuple[float, float] | None:
        x, y = self._playhead.getData()
        return (float(x[0]), float(y[0])) if len(x) else None

    def keyframe_positions(self) -> np.ndarray:
        x, y = self._keyframes.getData()
        return np.stack([x, y], axis=1) if len(x) else np.zeros((0, 2))

    def path_positions(self) -> np.ndarray:
        x, y = self._path.getData()
        return np.stack([x, y], axis=1) if x is not None and len(x) else np.zeros((0, 2))

    def build_context_menu(self, x: float, y: float) -> QMenu:
        """The right-click menu for data position (x, y)."""
        menu = QMenu(self)
        index = self._point_at(x, y)
        if index >= 0:
            menu.addAction("Add this frame as a keyframe", lambda: self.keyframeAtPoint.emit(index))
        menu.addAction("Add a keyframe here", lambda: self.keyframeAtPosition.emit(x, y))
        menu.addAction("Move the probe here", lambda: self._move_probe(x, y))
        menu.addSeparator()
        menu.addAction("Reset view", self.fit_view)
        return menu

    def _show_context_menu(self, x: float, y: float) -> None:
        self.build_context_menu(x, y).popup(QCursor.pos())

    def _move_probe(self, x: float, y: float) -> None:
        self.probe.setPos(QPointF(x, y))

    def _keep_probe_label_inside(self, *_args) -> None:
        """The probe's label goes to its left near the map's right edge, so it is never cut."""
        label = self.probe.label()
        if label is None:
            return
        scene = self._view.mapViewToScene(self.probe.pos())
        right = self._view.sceneBoundingRect().right()
        flip = scene.x() + label.boundingRect().width() + 24 > right
        if flip == self.probe_label_left:
            return  # the drag path: nothing to redo while the side stays the same
        label.offset = pg.Point(-10, -10) if flip else pg.Point(10, -10)
        label.setAnchor((1, 0.5) if flip else (0, 0.5))
        label.valueChanged()

    @property
    def probe_label_left(self) -> bool:
        """Whether the probe's label is drawn to its left (for tests)."""
        return self.probe.label().offset.x() < 0

    def place_probe(self, x: float, y: float) -> None:
        """Move the probe without emitting ``probeMoved``."""
        self.probe.blockSignals(True)
        self.probe.setPos(QPointF(x, y))
        self.probe.blockSignals(False)
        self._keep_probe_label_inside()

    def to_scene(self, x: float, y: float) -> QPointF:
        """Data coordinates to this widget's pixel coordinates (for tests and tooltips)."""
        scene = self.getPlotItem().vb.mapViewToScene(QPointF(x, y))
        return self.mapFromScene(scene)

    def show_thumbnail(self, index: int, image: np.ndarray) -> None:
        """Show ``image`` beside the pointer if ``index`` is still the hovered point."""
        if index != self._hovered:
            return
        self._hover_tip.setPixmap(QPixmap.fromImage(to_qimage(image)))
        self._hover_tip.setToolTip(f"frame {index}")
        self._hover_tip.adjustSize()
        anchor = self.to_scene(*self.point_position(index))
        x = min(int(anchor.x()) + HOVER_OFFSET, self.width() - self._hover_tip.width())
        y = max(0, int(anchor.y()) - self._hover_tip.height() - HOVER_OFFSET)
        self._hover_tip.move(x, y)
        self._hover_tip.show()
        self._hover_tip.raise_()

    def _point_at(self, x: float, y: float) -> int:
        """The point under data position (x, y), or -1."""
        if self.detail.active:
            return self.detail.nearest(x, y, PICK_PIXELS)
        points = self._points.pointsAt(QPointF(x, y))
        return int(points[0].data()) if len(points) else -1

    def _hover_by_index(self, scene_pos) -> None:
        """A large trajectory's density image has no points to hover: ask the index."""
        if self.detail.active and self.detail.showing_density:
            x, y = self._view._view_point(scene_pos)
            self._set_hovered(self.detail.nearest(x, y, PICK_PIXELS))

    def _click_by_index(self, x: float, y: float) -> None:
        if self.detail.active:
            index = self.detail.nearest(x, y, PICK_PIXELS)
            if index >= 0:
                self.frameClicked.emit(index)

    def _on_points_clicked(self, _item, points, _event) -> None:
        if len(points):
            self.frameClicked.emit(int(points[0].data()))

    def _on_points_hovered(self, _item, points, _event) -> None:
        self._set_hovered(int(points[0].data()) if len(points) else -1)

    def _set_hovered(self, index: int) -> None:
        if index == self._hovered:
            return
        self._hovered = index
        if index < 0:
            self._hover_tip.hide()
        self.setToolTip(f"frame {index}" if index >= 0 else "")
        self.frameHovered.emit(index)

    def _on_point_dragged(self, index: int, x: float, y: float) -> None:
        start = self._embedding[index]
        self._drag_ghost.setData([start[0], x], [start[1], y])
        self.pointDragged.emit(index, x, y)

    def _on_point_released(self, index: int, x: float, y: float) -> None:
        self._drag_ghost.setData([], [])
        self.pointReleased.emit(index, x, y)
