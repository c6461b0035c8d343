"""What a comparison of two models adds to the window (Model › Compare With…): the second
model's map beside the first, and a row under the frame views with its reconstruction and
the difference of the two."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMenu, QSplitter, QVBoxLayout, QWidget

from explorer.state.colouring import PointColours
from explorer.ui.frame_view import FrameView
from explorer.ui.latent_map import LatentMap

DIFFERENCE_TITLE = "Difference |A − B|"


class _SecondMap(LatentMap):
    """A map without a probe or keyframes of its own: its menu goes to a frame, or fits
    the view. A drag pans it, wherever it starts: on the first map, dragging a point bends
    that frame's latent and Shift or Ctrl drags draw a path or a lasso, all of the first
    model's."""

    def __init__(self) -> None:
        super().__init__()
        view = self._view
        view.mouseDragEvent = lambda event, axis=None: pg.ViewBox.mouseDragEvent(view, event,
                                                                                 axis)

    def build_context_menu(self, x: float, y: float) -> QMenu:
        menu = QMenu(self)
        index = self._point_at(x, y)
        if index >= 0:
            menu.addAction("Go to this frame", lambda: self.frameClicked.emit(index))
        menu.addAction("Reset view", self.fit_view)
        return menu


class CompareMap(QWidget):
    """The second model's map: its points coloured by time, the shared current frame
    ringed; a click on a point goes to its frame (``frameClicked``). It has no probe:
    the probe and the clip belong to the first model's map."""

    frameClicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("color: rgb(235, 130, 0); font-weight: bold;")
        self.map = _SecondMap()
        self.map.probe.setVisible(False)
        self.map.set_axis_names("B: PCA 1", "B: PCA 2")
        self.map.frameClicked.connect(self.frameClicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.map, 1)

    def show_points(self, points: np.ndarray, time_s: np.ndarray, title: str,
                    aspect_locked: bool) -> None:
        """The map's ``points`` [N, 2], coloured by ``time_s``; ``title`` says which model
        and how the map is aligned."""
        self.title.setText(title)
        self.map.set_aspect_locked(aspect_locked)
        self.map.set_trajectory(points, PointColours(np.asarray(time_s, np.float64), "time (s)"))
        QTimer.singleShot(0, self.map.fit_view)  # again once shown: hidden, it had no size

    def set_current(self, row: int) -> None:
        self.map.set_current(row)


class CompareViews(QSplitter):
    """A row under the frame views: the second model's reconstruction of the current
    frame, and how far it is from the first's."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.reconstruction = FrameView("Reconstruction B", "choose Model › Compare With…")
        self.difference = FrameView(DIFFERENCE_TITLE, "choose Model › Compare With…")
        self.addWidget(self.reconstruction)
        self.addWidget(self.difference)
