"""A titled picture that keeps its aspect ratio as the window resizes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.ui.images import to_qimage


class _ImageCanvas(QWidget):
    def __init__(self, placeholder: str) -> None:
        super().__init__()
        self._pixmap: QPixmap | None = None
        self._placeholder = placeholder
        self.setMinimumSize(QSize(120, 120))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        self._pixmap = pixmap
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window().color().darker(115))
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        size = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(x, y, size.width(), size.height(), self._pixmap)


class FrameView(QWidget):
    """One image with a caption, e.g. "Original" or "Reconstruction"."""

    def __init__(self, title: str, placeholder: str = "—") -> None:
        super().__init__()
        self._title = QLabel(title)
        self._title.setStyleSheet("font-weight: 600;")
        self._caption = QLabel("")
        self._caption.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._canvas = _ImageCanvas(placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._title)
        layout.addWidget(self._canvas, 1)
        layout.addWidget(self._caption)
        self.frame: np.ndarray | None = None

    def set_frame(self, frame: np.ndarray, caption: str = "") -> None:
        self.frame = frame
        self._canvas.set_pixmap(QPixmap.fromImage(to_qimage(frame)))
        self._caption.setText(caption)

    def set_caption(self, caption: str) -> None:
        self._caption.setText(caption)

    @property
    def caption(self) -> str:
        return self._caption.text()

    def clear(self) -> None:
        self.frame = None
        self._canvas.set_pixmap(None)
        self._caption.setText("")
