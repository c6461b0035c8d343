"""Driving real widgets with the mouse, the way a user does."""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

NO_MODIFIER = Qt.KeyboardModifier.NoModifier
MOVE_INTERVAL_MS = 12
"""Between the moves of a drag: pyqtgraph drops moves that come sooner than 10 ms after
the last one (its ``mouseRateLimit``), so a burst of moves could arrive as no drag at all."""


def _send(
    widget: QWidget, kind: QEvent.Type, pos: QPointF, button, buttons, modifiers=NO_MODIFIER
) -> None:
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(
    widget: QWidget,
    start: QPointF | QPoint,
    end: QPointF | QPoint,
    steps: int = 12,
    modifiers=NO_MODIFIER,
    via: QPointF | QPoint | None = None,
) -> None:
    """Press at ``start``, move in ``steps`` to ``end`` (through ``via``) and release."""
    left = Qt.MouseButton.LeftButton
    start, end = QPointF(start), QPointF(end)
    middle = QPointF(via) if via is not None else None
    _send(widget, QEvent.Type.MouseButtonPress, start, left, left, modifiers)
    for step in range(1, steps + 1):
        t = step / steps
        if middle is None:
            point = start + (end - start) * t
        else:  # a quadratic curve through the middle point
            point = start * (1 - t) ** 2 + middle * (2 * t * (1 - t)) + end * t**2
        _send(widget, QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, left, modifiers)
        QTest.qWait(MOVE_INTERVAL_MS)
    _send(widget, QEvent.Type.MouseButtonRelease, end, left, Qt.MouseButton.NoButton, modifiers)


def drag_through(widget: QWidget, points, steps: int = 6, modifiers=NO_MODIFIER) -> None:
    """Press at the first of ``points``, move along the straight lines through the others
    (``steps`` moves each) and release at the last: a lasso, a drawn stroke."""
    left = Qt.MouseButton.LeftButton
    points = [QPointF(point) for point in points]
    _send(widget, QEvent.Type.MouseButtonPress, points[0], left, left, modifiers)
    for start, end in itertools.pairwise(points):
        for step in range(1, steps + 1):
            point = start + (end - start) * (step / steps)
            _send(widget, QEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, left,
                  modifiers)
            QTest.qWait(MOVE_INTERVAL_MS)
    _send(widget, QEvent.Type.MouseButtonRelease, points[-1], left, Qt.MouseButton.NoButton,
          modifiers)


def click(widget: QWidget, pos: QPointF | QPoint) -> None:
    left = Qt.MouseButton.LeftButton
    _send(widget, QEvent.Type.MouseButtonPress, QPointF(pos), left, left)
    _send(widget, QEvent.Type.MouseButtonRelease, QPointF(pos), left, Qt.MouseButton.NoButton)


def hover(widget: QWidget, pos: QPointF | QPoint) -> None:
    _send(
        widget,
        QEvent.Type.MouseMove,
        QPointF(pos),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
    )


def choose(combo, qtbot, data) -> None:
    """Pick the item holding ``data`` in a closed combo box with the arrow keys, as a user
    does (each press is an ``activated`` choice)."""
    target = combo.findData(data)
    assert target >= 0, f"{data!r} is not in the box"
    combo.setFocus()
    while combo.currentIndex() != target:
        key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
        qtbot.keyClick(combo, key)


def choose_projection(window, qtbot, kind: str, timeout: int = 180_000) -> None:
    """Pick a layout in the projection box and wait until the map shows it."""
    choose(window.projection_bar.choice, qtbot, kind)
    qtbot.waitUntil(lambda: window.state.projection_kind == kind, timeout=timeout)


def answer_next_dialog(button, seen: list[str] | None = None, timeout_ms: int = 20_000) -> None:
    """When the next modal message box opens, record its text and press ``button``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    waited = {"ms": 0}

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            if seen is not None:
                seen.append(box.text())
            box.button(button).click()
        elif waited["ms"] < timeout_ms:
            waited["ms"] += 20
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


READY_MS = 180_000  # opening includes loading torch and encoding the demo on a busy CI box


def open_window(qtbot, video=None, model=None, **options):
    """A shown main window (not started); ``interactive`` defaults to False in tests."""
    from explorer.paths import demo_model_path, demo_video_path
    from explorer.ui.main_window import MainWindow

    options.setdefault("interactive", False)
    window = MainWindow(video or demo_video_path(), model or demo_model_path(), **options)
    qtbot.addWidget(window)
    window.show()
    return window


def ready_window(qtbot, video=None, model=None, **options):
    """A main window that has opened its video: trajectory drawn, frame views painted."""
    window = open_window(qtbot, video, model, **options)
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()
    return window
