"""The window's side of the trust policy (``docs/security.md``): a model that is code
(TorchScript, a plugin, an installed loader) runs only after the user confirms, in a
dialog naming it, or named it on the command line with ``--trust-code``.

Sessions, recent files, drops and file dialogs all open models through the same gate, so
none of them can run code the user has not agreed to in this run of the app.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from explorer.errors import ModelFileError
from explorer.model.kinds import model_kind


class CodeGate:
    """Remembers which code models the user trusts in this run, and asks about others."""

    def __init__(self, trusted: Iterable[str | os.PathLike[str]] = ()) -> None:
        self._trusted = {_key(spec) for spec in trusted}

    def permits(self, model: str | os.PathLike[str], parent: QWidget | None, ask: bool) -> bool:
        """Whether ``model`` may run. Data models always may (and a model whose kind cannot
        be told is left for the loader to refuse with its own message); a code model may
        once the user has trusted it, asked here when ``ask`` is true."""
        try:
            kind = model_kind(model)
        except ModelFileError:
            return True
        key = _key(model)
        if not kind.runs_code or key in self._trusted:
            return True
        if ask and confirm_code(parent, os.fspath(model), kind.label):
            self._trusted.add(key)
            return True
        return False


def confirm_code(parent: QWidget | None, spec: str, label: str) -> bool:
    """Ask, naming the model, whether to run its code; No is the default answer."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Run code from this model?")
    box.setText(f"<b>{Path(spec).name or spec}</b> is a {label}: opening it runs its code.")
    box.setInformativeText(
        f"{spec}\n\nCode from a model can read and change your files. Open it only if you "
        "trust where it came from."
    )
    run = box.addButton("Run Its Code", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is run


def _key(spec: str | os.PathLike[str]) -> str:
    """Files by their real location (a symlink or another spelling is the same file)."""
    path = Path(os.fspath(spec)).expanduser()
    return str(path.resolve()) if path.exists() else os.fspath(spec)
