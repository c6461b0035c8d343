"""The latent map: the trajectory in 2-D, coloured by time (or what the user picks), with
a probe you can drag.

Everything here is in the plot's data coordinates (the projection's 2-D space). The map
knows nothing about models: it reports clicks, hovers, drags, drawn paths and context-menu
choices as signals, and the main window turns positions into latents through the
projection's fast inverse.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QCursor, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QMenu, QVBoxLayout

from explorer.latent.map_points import MapPoints, map_points
from explorer.state.colouring import PointColours
from explorer.ui.images import to_qimage
from explorer.ui.map_detail import LevelOfDetail
from explorer.ui.map_grid import MapGrid
from explorer.ui.palette import category_colours

COLOUR_MAP = "viridis"
COLOUR_STEPS = 256
"""Shades of the colour map the points are drawn in (a lookup table)."""
LEFT_AXIS_PIXELS = 64
SELECTION_DRAWN = 20_000
"""Selected points ringed at most (a lasso round a million-point map)."""
LEGEND_ENTRIES = 24
"""Categories named in the legend at most; it says how many more there are."""
POINT_SIZE = 7
"""The points' diameter in pixels."""
PICK_PIXELS = 5
"""How near the pointer a point is picked, through the spatial index."""
HOVER_OFFSET = 16


class _MapViewBox(pg.ViewBox):
    """Pans and zooms as usual; Shift+drag draws a path, Ctrl+drag a lasso, right-click
    asks for a menu, and a drag that starts on a point drags that point."""

    pathDrawn = Signal(object)  # np.ndarray [M, 2] in data coordinates
    lassoDrawn = Signal(object)  # np.ndarray [M, 2]: a closed polygon
    contextRequested = Signal(float, float)
    clicked = Signal(float, float)  # a left click that no point took, in data coordinates
    pointDragged = Signal(int, float, float)
    pointReleased = Signal(int, float, float)

    def __init__(self) -> None:
        super().__init__()
        self._stroke: list[tuple[float, float]] = []
        self.stroke_item = pg.PlotDataItem(pen=pg.mkPen((220, 60, 160), width=2))
        self.pick = lambda _x, _y: -1
        """The row of the point at a data position, or -1."""
        self._dragged = -1

    def mouseDragEvent(self, event, axis=None) -> None:
        lasso = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        drawing = lasso or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        left = event.button() == Qt.MouseButton.LeftButton
        if left and not drawing and self._drag_point(event):
            return
        if not drawing or not left:
            super().mouseDragEvent(event, axis)
            return
        event.accept()
        if event.isStart():
            self._stroke = [self._view_point(event.buttonDownScenePos())]
        self._stroke.append(self._view_point(event.scenePos()))
        points = np.array(self._stroke)
        shown = np.vstack([points, points[:1]]) if lasso else points  # a lasso closes
        self.stroke_item.setData(shown[:, 0], shown[:, 1])
        if event.isFinish():
            self.stroke_item.setData([], [])
            self._stroke = []
            if lasso and len(points) >= 3:
                self.lassoDrawn.emit(points)
            elif not lasso and len(points) >= 2:
                self.pathDrawn.emit(points)

    def _drag_point(self, event) -> bool:
        """Drag the point under the drag's start, if there is one."""
        if event.isStart():
            self._dragged = self.pick(*self._view_point(event.buttonDownScenePos()))
        if self._dragged < 0:
            return False
        event.accept()
        x, y = self._view_point(event.scenePos())
        if event.isFinish():
            row, self._dragged = self._dragged, -1
            self.pointReleased.emit(row, x, y)
        else:
            self.pointDragged.emit(self._dragged, x, y)
        return True

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
    categoryToggled = Signal(int, bool)  # a legend entry clicked: category, now shown
    probeMoved = Signal(float, float)
    probeReleased = Signal(float, float)
    pointDragged = Signal(int, float, float)
    pointReleased = Signal(int, float, float)
    pathDrawn = Signal(object)  # np.ndarray [M, 2]
    lassoDrawn = Signal(object)  # np.ndarray [M, 2]: a closed polygon, Ctrl+drag
    keyframeAtPoint = Signal(int)  # context menu: this point's frame as a keyframe
    keyframeAtPosition = Signal(float, float)  # context menu: a probe keyframe here

    def __init__(self) -> None:
        self._view = _MapViewBox()
        super().__init__(viewBox=self._view)
        self.setMenuEnabled(False)
        # a grid item rather than the axes' grid: theirs took 25–30 ms of every repaint of
        # a 1,100 × 760 map, this one 3 (antialiased translucent lines across the view)
        grid = MapGrid()  # the palette's text colour (recolour_plots)
        grid.setZValue(-10)
        self._view.addItem(grid, ignoreBounds=True)
        self.getPlotItem().hideButtons()
        self.set_axis_names("PCA 1", "PCA 2")
        for side in ("bottom", "left"):  # latents are small numbers: "0.5", not "500 ×0.001"
            self.getAxis(side).enableAutoSIPrefix(False)
        # A fixed width: wider tick labels of another layout would narrow the view, and
        # a layout locked to its aspect would then come back showing another range.
        self.getAxis("left").setWidth(LEFT_AXIS_PIXELS)
        self._colour_map = pg.colormap.get(COLOUR_MAP)
        self._shades = self._colour_map.getLookupTable(nPts=COLOUR_STEPS, alpha=True)
        self._categories = category_colours()
        # 1 pixel: Qt strokes an antialiased line of 1,000 vertices in 2 ms at that width,
        # in 33 ms at 1.5 pixels
        self._line = pg.PlotDataItem(pen=pg.mkPen((150, 150, 150, 110), width=1))
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
        self._selected = pg.ScatterPlotItem(size=11, symbol="o", brush=None,
                                            pen=pg.mkPen((250, 200, 0), width=1.5))
        for item in (
            self._line,
            self._path,
            self._selected,
            self._keyframes,
            self._playhead,
            self._current,
            self._drag_ghost,
            self.probe,
            self._view.stroke_item,
        ):
            self.addItem(item)
        self.probe.setZValue(10)
        self.detail = LevelOfDetail(self._view, self._line, POINT_SIZE)
        self.detail.pointsShown.connect(self._on_points_shown)
        self.scene().sigMouseMoved.connect(self._hover)
        self._view.clicked.connect(self._click)
        self._colour_bar = pg.ColorBarItem(
            values=(0.0, 1.0),
            colorMap=self._colour_map,
            interactive=False,
            width=12,
            label="time (s)",
        )
        self.getPlotItem().layout.addItem(self._colour_bar, 2, 5)
        self.legend = pg.LegendItem(offset=(-10, 10), labelTextSize="8pt")
        self.legend.setParentItem(self._view)
        self.legend.setVisible(False)
        self.legend.sigSampleClicked.connect(self._on_legend_clicked)
        self._legend_samples: list[pg.ScatterPlotItem] = []
        self._hover_tip = _HoverTip(self)
        self._hovered = -1
        self.describe_point = lambda row: f"frame {row}"
        """The hovered point's caption (the window names a library's videos)."""

        self._view.pointDragged.connect(self._on_point_dragged)
        self._view.pointReleased.connect(self._on_point_released)
        self._view.pick = self._point_at
        self._view.pathDrawn.connect(self.pathDrawn)
        self._view.lassoDrawn.connect(self.lassoDrawn)
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
        self._colours = PointColours(np.zeros(0), "time (s)")
        self._fit_wanted = False  # once the points being prepared are drawn

    @property
    def point_count(self) -> int:
        """Points of the trajectory, shown or not."""
        return len(self._embedding)

    @property
    def shown_count(self) -> int:
        """Points drawn: those of hidden categories are not."""
        return len(self.detail.rows)

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

    def set_trajectory(self, embedding: np.ndarray, colours: PointColours, fit: bool = True,
                       shown: np.ndarray | None = None, groups: np.ndarray | None = None,
                       ) -> None:
        """Show a trajectory (or the part encoded so far), its points coloured by
        ``colours``; ``shown`` [N] bool leaves points out, ``groups`` [N] keeps the line
        from joining points of different groups (a library's videos); ``fit`` rescales
        the view. A large one is drawn once its points are prepared on a thread
        (:meth:`LevelOfDetail.show`)."""
        self._embedding = embedding
        self._colours = colours
        self._fit_wanted = self._fit_wanted or fit  # asked for points not yet drawn: kept
        lut = self._categories if colours.categorical else self._shades
        shading = self.detail.points.shading if self.detail.points is not None else None
        make = partial(map_points, embedding, colours.values, colours.categorical,
                       len(lut), shown, groups, shading)
        self.detail.show(make, len(embedding), lut)

    def _on_points_shown(self, points: MapPoints) -> None:
        """Points are drawn: their colouring's key, and the view fitted if it was asked."""
        if not len(points.embedding):  # nothing open
            for item in (self._line, self._current, self._path, self._keyframes):
                item.setData([], [])
        self._show_key(self._colours, points.shading.limits)
        if self._fit_wanted:
            self._fit_wanted = False
            self.fit_view()

    def _show_key(self, colours: PointColours, limits: tuple[float, float] | None) -> None:
        """A colour bar for values, a legend for categories."""
        self._colour_bar.setVisible(not colours.categorical)
        self.legend.setVisible(colours.categorical)
        if colours.categorical:
            self._fill_legend(colours.categories)
            return
        axis = self._colour_bar.getAxis("left")
        if axis.labelText != colours.title:  # a new label lays the plot out again
            axis.setLabel(colours.title)
        if limits is not None:
            low, high = limits
            self._colour_bar.setLevels((low, low + max(high - low, 1e-9)))

    def _fill_legend(self, names: tuple[str, ...]) -> None:
        if [sample.name() for sample in self._legend_samples] == list(names[:LEGEND_ENTRIES]):
            return
        self.legend.clear()
        self._legend_samples = []
        for category, name in enumerate(names[:LEGEND_ENTRIES]):
            colour = self._categories[category % len(self._categories)]
            sample = pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush(*colour), name=name)
            self._legend_samples.append(sample)
            self.legend.addItem(sample, name)
        if len(names) > LEGEND_ENTRIES:
            self.legend.addItem(pg.PlotDataItem(), f"and {len(names) - LEGEND_ENTRIES} more")

    def show_hidden(self, hidden: frozenset[int]) -> None:
        """Grey out the legend entries of the hidden categories."""
        for category, sample in enumerate(self._legend_samples):
            sample.setVisible(category not in hidden)
        self.legend.update()

    def legend_entry(self, category: int) -> pg.ScatterPlotItem:
        """The sample a category's legend entry draws (for tests: click its label)."""
        return self._legend_samples[category]

    def _on_legend_clicked(self, sample) -> None:
        if sample in self._legend_samples:
            self.categoryToggled.emit(self._legend_samples.index(sample), sample.isVisible())

    def fit_view(self) -> None:
        """Fit the view to the trajectory's points, not to a probe or path elsewhere (once
        they are drawn, if they are being prepared)."""
        if self.detail.pending:
            self._fit_wanted = True
        elif len(self.detail.rows):
            low, high = self.detail.bounds()
            self._view.setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]))

    def set_current(self, index: int) -> None:
        """Ring point ``index``; no point (-1, or one not drawn) hides the ring."""
        if 0 <= index < len(self._embedding):
            self._current.setData(pos=self._embedding[index : index + 1])
        else:
            self._current.setData(pos=np.zeros((0, 2)))

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

    def show_selection(self, points: np.ndarray) -> None:
        """Ring the selected points [K, 2] (an even choice of them, when very many)."""
        points = np.asarray(points, np.float32).reshape(-1, 2)
        if len(points) > SELECTION_DRAWN:
            points = points[np.linspace(0, len(points) - 1, SELECTION_DRAWN).astype(int)]
        self._selected.setData(pos=points)

    @property
    def selection_drawn(self) -> int:
        return len(self._selected.data)

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
        self._hover_tip.show_image(image, self.describe_point(index))
        anchor = self.to_scene(*self.point_position(index))
        x = min(int(anchor.x()) + HOVER_OFFSET, self.width() - self._hover_tip.width())
        y = max(0, int(anchor.y()) - self._hover_tip.height() - HOVER_OFFSET)
        self._hover_tip.move(x, y)
        self._hover_tip.show()
        self._hover_tip.raise_()

    def _point_at(self, x: float, y: float) -> int:
        """The point within :data:`PICK_PIXELS` of data position (x, y), or -1: the
        points are drawn, not items of their own, and found through the spatial index."""
        return self.detail.nearest(x, y, PICK_PIXELS)

    def _hover(self, scene_pos) -> None:
        self._set_hovered(self._point_at(*self._view._view_point(scene_pos)))

    def _click(self, x: float, y: float) -> None:
        index = self._point_at(x, y)
        if index >= 0:
            self.frameClicked.emit(index)

    def _set_hovered(self, index: int) -> None:
        if index == self._hovered:
            return
        self._hovered = index
        if index < 0:
            self._hover_tip.hide()
        self.setToolTip(self.describe_point(index) if index >= 0 else "")
        self.frameHovered.emit(index)

    def _on_point_dragged(self, index: int, x: float, y: float) -> None:
        start = self._embedding[index]
        self._drag_ghost.setData([start[0], x], [start[1], y])
        self.pointDragged.emit(index, x, y)

    def _on_point_released(self, index: int, x: float, y: float) -> None:
        self._drag_ghost.setData([], [])
        self.pointReleased.emit(index, x, y)


class _HoverTip(QFrame):
    """A hovered point's thumbnail, captioned."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setStyleSheet(
            "_HoverTip { background: palette(tool-tip-base); border: 1px solid palette(mid); }"
            "QLabel { color: palette(tool-tip-text); }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        self.image, self.caption = QLabel(), QLabel()
        layout.addWidget(self.image)
        layout.addWidget(self.caption)
        self.hide()

    def show_image(self, image: np.ndarray, caption: str) -> None:
        self.image.setPixmap(QPixmap.fromImage(to_qimage(image)))
        self.caption.setText(caption)
        self.adjustSize()
