"""The Model tab: what the open model says of itself, and the video it encodes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from explorer.model.facts import fact_rows


def model_name(info: Mapping[str, Any]) -> str:
    """The model's file name, or its kind when it is no file (a plugin)."""
    return Path(info.get("path", "")).name or info["kind"]


class ModelPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self._form = QFormLayout()
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #d04a02;")
        self.warning.hide()
        layout.addLayout(self._form)
        layout.addWidget(self.warning)
        layout.addStretch(1)

    def show_warning(self, text: str | None) -> None:
        """A line under the facts (e.g. reconstructions are poor), or none."""
        self.warning.setText(text or "")
        self.warning.setVisible(bool(text))

    def show_model(self, info: Mapping[str, Any], video: Path | None) -> None:
        """Show ``info`` (the worker's ``modelReady`` description)."""
        while self._form.rowCount():
            self._form.removeRow(0)
        rows = [("Model", model_name(info)), *fact_rows(info)]
        psnr = info.get("training", {}).get("holdout_psnr_db")
        if psnr is not None:
            rows.append(("Held-out PSNR", f"{psnr:.1f} dB"))
        rows.append(("Device", info["device_label"]))
        if video is not None:
            rows.append(("Video", video.name))
        for label, value in rows:
            shown = QLabel(value)
            shown.setWordWrap(True)  # a note is a sentence
            self._form.addRow(f"{label}:", shown)
