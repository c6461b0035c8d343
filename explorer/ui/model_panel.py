"""The Model tab: what the open model says of itself, and the video it encodes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget


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
        height, width = info["frame_size"]
        rows = [
            ("Model", model_name(info)),
            ("Kind", info["kind"]),
            ("Frame size", f"{width} × {height}"),
            ("Latent shape", " × ".join(map(str, info["latent_shape"]))),
            ("Parameters", f"{info['parameters']:,}"),
        ]
        if info.get("deterministic"):
            rows.append(("Log-variance", "none: a plain autoencoder"))
        if info.get("codebook_size"):
            rows.append(("Codebook", _codebook(info)))
        psnr = info.get("training", {}).get("holdout_psnr_db")
        if psnr is not None:
            rows.append(("Held-out PSNR", f"{psnr:.1f} dB"))
        rows.append(("Device", info["device_label"]))
        if "precision" in info:
            rows.append(("Precision", info["precision"]))
        if video is not None:
            rows.append(("Video", video.name))
        for label, value in rows:
            self._form.addRow(f"{label}:", QLabel(value))
        if info.get("note"):  # a sentence, such as why a video autoencoder is slow here
            note = QLabel(info["note"])
            note.setWordWrap(True)
            self._form.addRow("Note:", note)


def _codebook(info: Mapping[str, Any]) -> str:
    """A VQ model's codebook: its size, how many entries the video uses once the worker has
    counted them (``codes_used``), and whether decoding goes through the quantiser."""
    entries = f"{info['codebook_size']:,} entries"
    if info.get("codes_used") is not None:
        entries += f", this video uses {info['codes_used']:,}"
    through = "through" if info.get("quantize", True) else "without"
    return f"{entries}; decoded {through} the quantiser"
