"""A titled picture that keeps its aspect ratio as the window resizes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.ui.images import to_qimage


class _ImageCanvas(QWidget):
    def __init__(self, placeholder: str) -> None:
        super().__init__()
        self._pixmap: QPixmap | None = None
        self._placeholder = placeholder
        self.message: str | None = None
        """Said instead of the placeholder while there is no image."""
        self.outline: QRect | None = None
        """A region of the image (image pixels) drawn as a frame, e.g. the model's crop."""
        self.setMinimumSize(QSize(96, 96))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixmap(self, pixmap: QPixmap | None, placeholder: str | None = None) -> None:
        """Show ``pixmap``, or without one ``placeholder`` (by default the first one)."""
        self._pixmap = pixmap
        self.message = placeholder
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window().color().darker(115))
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self.message or self._placeholder)
            return
        size = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(x, y, size.width(), size.height(), self._pixmap)
        if self.outline is not None:
            scale = size.width() / self._pixmap.width()
            box = self.outline
            painter.setPen(QPen(QColor(255, 200, 0), 1.5, Qt.PenStyle.DashLine))
            painter.drawRect(round(x + box.x() * scale), round(y + box.y() * scale),
                             round(box.width() * scale) - 1, round(box.height() * scale) - 1)


BREAK = "\u200b"
"""A zero-width space: where a caption may wrap."""


class FrameView(QWidget):
    """One image with a caption, e.g. "Original" or "Reconstruction". A double-click
    opens it at full size, zoomable (``zoomRequested``). A short clip (the frames a video
    autoencoder's latent step decodes to) plays as a loop (:meth:`set_loop`)."""

    zoomRequested = Signal()

    def __init__(self, title: str, placeholder: str = "—") -> None:
        super().__init__()
        self.title = title
        self._title = QLabel(title)
        self._title.setStyleSheet("font-weight: 600;")
        self._caption = QLabel("")
        self._caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._caption.setWordWrap(True)  # a narrow view wraps its caption, never cuts it
        for label in (self._title, self._caption):  # their own rows: never over the image
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self._canvas = _ImageCanvas(placeholder)
        self.setToolTip(f"{title}: double-click to see it at full size")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self._title)
        layout.addWidget(self._canvas, 1)
        layout.addWidget(self._caption)
        self.frame: np.ndarray | None = None
        """The image on screen (of a loop, the frame shown now)."""
        self.loop: tuple[QPixmap, ...] = ()
        self._loop_frames: np.ndarray | None = None
        self._loop_position = 0
        self._loop_timer = QTimer(self)
        self._loop_timer.timeout.connect(self._next_in_loop)

    def set_frame(self, frame: np.ndarray, caption: str = "") -> None:
        self._stop_loop()
        self._show(frame)
        self._set_caption(caption)

    def set_loop(self, frames: np.ndarray, fps: float, caption: str = "") -> None:
        """Play ``frames`` [k, H, W, 3] over and over at ``fps``; one frame is a still."""
        if len(frames) == 1:
            self.set_frame(frames[0], caption)
            return
        self._loop_frames = frames
        self.loop = tuple(QPixmap.fromImage(to_qimage(frame)) for frame in frames)
        self._loop_position = 0
        self._show(frames[0], self.loop[0])
        self._set_caption(caption)
        self._loop_timer.start(max(15, round(1000 / (fps if fps > 0 else 25.0))))

    @property
    def looping(self) -> bool:
        return self._loop_timer.isActive()

    def _next_in_loop(self) -> None:
        self._loop_position = (self._loop_position + 1) % len(self.loop)
        self._show(self._loop_frames[self._loop_position], self.loop[self._loop_position])

    def _stop_loop(self) -> None:
        self._loop_timer.stop()
        self.loop, self._loop_frames = (), None

    def _show(self, frame: np.ndarray, pixmap: QPixmap | None = None) -> None:
        self.frame = frame
        self._canvas.set_pixmap(pixmap or QPixmap.fromImage(to_qimage(frame)))

    def show_message(self, message: str, caption: str = "") -> None:
        """No image, but ``message`` where it would be (e.g. the video is not available)."""
        self._stop_loop()
        self.frame = None
        self._canvas.outline = None
        self._canvas.set_pixmap(None, message)
        self._set_caption(caption)

    @property
    def message(self) -> str | None:
        return self._canvas.message

    def set_outline(self, top: int, left: int, height: int, width: int) -> None:
        """Frame a region of the image (in its pixels); the whole image removes it."""
        whole = self.frame is not None and (height, width) == self.frame.shape[:2]
        self._canvas.outline = None if whole else QRect(left, top, width, height)
        self._canvas.update()

    @property
    def outline(self) -> QRect | None:
        return self._canvas.outline

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.frame is not None:
            self.zoomRequested.emit()

    def set_caption(self, caption: str) -> None:
        self._set_caption(caption)

    def _set_caption(self, caption: str) -> None:
        """A narrow view wraps a long file name in the caption at its underscores too."""
        self._caption.setText(caption.replace("_", "_" + BREAK))

    @property
    def caption(self) -> str:
        return self._caption.text().replace(BREAK, "")

    def clear(self) -> None:
        self._stop_loop()
        self.frame = None
        self._canvas.outline = None
        self._canvas.set_pixmap(None)
        self._set_caption("")
