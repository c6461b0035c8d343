"""A frame at full size in its own window: 1:1 to start, the wheel zooms, drag pans."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QPixmap, QWheelEvent
from PySide6.QtWidgets import QDialog, QGraphicsScene, QGraphicsView, QVBoxLayout, QWidget

from explorer.ui.images import to_qimage

ZOOM_STEP = 1.25


class _ZoomingView(QGraphicsView):
    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP
        self.scale(factor, factor)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_1:
            self.resetTransform()  # back to 1:1
        elif event.key() == Qt.Key.Key_F:
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        else:
            super().keyPressEvent(event)


class ZoomDialog(QDialog):
    """``image`` [h, w, 3] at one screen pixel per image pixel; 1 resets, F fits."""

    def __init__(self, image: np.ndarray, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title} — {image.shape[1]} × {image.shape[0]} px")
        scene = QGraphicsScene(self)
        scene.addPixmap(QPixmap.fromImage(to_qimage(image)))
        self.view = _ZoomingView(scene)
        self.view.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.view.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.view.setToolTip("Wheel: zoom · drag: pan · 1: actual size · F: fit")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.resize(min(1200, image.shape[1] + 40), min(900, image.shape[0] + 40))

    @property
    def zoom(self) -> float:
        return self.view.transform().m11()
