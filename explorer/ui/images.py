"""numpy RGB arrays to Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_qimage(frame: np.ndarray) -> QImage:
    """Copy an RGB uint8 [H, W, 3] array into a QImage that owns its pixels."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    height, width = frame.shape[:2]
    image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()
