"""A slider that keeps its own keys: with focus, the arrow keys, Page Up/Down, Home and
End move it, not the window's shortcuts for the same keys (next frame, first frame)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QSlider

SLIDER_KEYS = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
               Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End}


class KeyedSlider(QSlider):
    """A horizontal :class:`QSlider` that takes its keys before the window's shortcuts."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in SLIDER_KEYS:
            event.accept()  # delivered to the slider as a key press
            return True
        return super().event(event)
