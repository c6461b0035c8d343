"""Driving real widgets with the mouse, the way a user does."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget


def _send(widget: QWidget, kind: QEvent.Type, pos: QPointF, button, buttons) -> None:
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(widget: QWidget, start: QPointF | QPoint, end: QPointF | QPoint, steps: int = 12,
         release: bool = True) -> None:
    """Press at ``start``, move in ``steps`` to ``end`` with the button held, release."""
    left = Qt.MouseButton.LeftButton
    start, end = QPointF(start), QPointF(end)
    _send(widget, QEvent.Type.MouseButtonPress, start, left, left)
    for step in range(1, steps + 1):
        point = start + (end - start) * (step / steps)
        _send(widget, QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, left)
        QApplication.processEvents()
    if release:
        _send(widget, QEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton)


def click(widget: QWidget, pos: QPointF | QPoint) -> None:
    left = Qt.MouseButton.LeftButton
    _send(widget, QEvent.Type.MouseButtonPress, QPointF(pos), left, left)
    _send(widget, QEvent.Type.MouseButtonRelease, QPointF(pos), left, Qt.MouseButton.NoButton)


def hover(widget: QWidget, pos: QPointF | QPoint) -> None:
    _send(widget, QEvent.Type.MouseMove, QPointF(pos), Qt.MouseButton.NoButton,
          Qt.MouseButton.NoButton)
