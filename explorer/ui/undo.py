"""Undoable edits: keyframe lists and probe positions (Ctrl+Z / Ctrl+Shift+Z)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QUndoCommand


class StateCommand(QUndoCommand):
    """An edit already made: undo applies ``before``, redo applies ``after``.

    Qt calls ``redo`` when the command is pushed; the edit has happened by then, so that
    first call does nothing.
    """

    def __init__(self, apply: Callable[[Any], None], before: Any, after: Any, text: str):
        super().__init__(text)
        self._apply, self._before, self._after = apply, before, after
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:
            self._apply(self._after)
        self._pushed = True

    def undo(self) -> None:
        self._apply(self._before)
