"""Undo and redo of edits to the state (Ctrl+Z / Ctrl+Shift+Z), without Qt.

An :class:`Edit` holds two values of one aspect of the state (a keyframe list, a probe
latent), never widgets or icons, and the function that puts a value back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from explorer.state.events import Event

LIMIT = 1000
"""Edits remembered; the oldest are forgotten first."""


@dataclass(frozen=True)
class Edit:
    """An edit already made: undo applies ``before``, redo applies ``after``."""

    text: str
    apply: Callable[[Any], None]
    before: Any
    after: Any


class UndoStack:
    """Edits in order, a position among them, and where the last save was."""

    def __init__(self) -> None:
        self.changed = Event()
        """Emitted after every push, undo, redo, clear or save mark."""
        self._edits: list[Edit] = []
        self._done = 0  # edits before this index are applied
        self._saved: int | None = 0  # the position when last saved; None: out of reach

    def __len__(self) -> int:
        """Edits remembered, done and undone."""
        return len(self._edits)

    @property
    def can_undo(self) -> bool:
        return self._done > 0

    @property
    def can_redo(self) -> bool:
        return self._done < len(self._edits)

    @property
    def undo_text(self) -> str:
        return self._edits[self._done - 1].text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._edits[self._done].text if self.can_redo else ""

    @property
    def clean(self) -> bool:
        """Whether the edits applied are those of the last save."""
        return self._done == self._saved

    def push(self, edit: Edit) -> None:
        """Record ``edit`` (already made); edits undone before it can no longer be redone."""
        if self._saved is not None and self._saved > self._done:
            self._saved = None
        del self._edits[self._done:]
        self._edits.append(edit)
        if len(self._edits) > LIMIT:
            del self._edits[0]
            self._saved = None if self._saved in (None, 0) else self._saved - 1
        self._done = len(self._edits)
        self.changed.emit()

    def undo(self) -> None:
        if self.can_undo:
            self._done -= 1
            edit = self._edits[self._done]
            edit.apply(edit.before)
            self.changed.emit()

    def redo(self) -> None:
        if self.can_redo:
            edit = self._edits[self._done]
            self._done += 1
            edit.apply(edit.after)
            self.changed.emit()

    def set_clean(self) -> None:
        """Mark the present as saved."""
        self._saved = self._done
        self.changed.emit()

    def clear(self) -> None:
        """Forget every edit (another video was opened); the present counts as saved."""
        self._edits, self._done, self._saved = [], 0, 0
        self.changed.emit()
