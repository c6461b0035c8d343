"""The Export Clip dialog: where, which format, and how the frames should look."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

FORMATS = (
    ("MP4 video, H.264 (plays everywhere)", ".mp4"),
    ("WebM video, VP9", ".webm"),
    ("Animated GIF (loops)", ".gif"),
    ("Folder of PNG frames", "/"),
)


class ExportDialog(QDialog):
    """Collects an output path and :class:`~explorer.pipeline.export.ExportSettings`."""

    def __init__(self, suggested: Path, fps: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Clip")
        self.format = QComboBox()
        for label, suffix in FORMATS:
            self.format.addItem(label, suffix)
        self.format.currentIndexChanged.connect(self._on_format)
        self.output = QLineEdit(str(suggested.with_suffix(".mp4")))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.output, 1)
        row.addWidget(browse)
        self.fps = QDoubleSpinBox(minimum=1.0, maximum=120.0, value=fps, suffix=" fps")
        self.size = QSpinBox(minimum=0, maximum=4096, value=256, singleStep=64, suffix=" px")
        self.size.setSpecialValueText("model's size")
        self.size.setToolTip("Longest side of each decoded frame in the clip")
        self.resize_filter = QComboBox()
        for name in ("lanczos", "bicubic", "bilinear", "nearest"):
            self.resize_filter.addItem(name, name)
        self.quality = QSpinBox(minimum=0, maximum=51, value=23)
        self.quality.setToolTip("0 is best, 51 worst; 18–28 is typical (MP4 and WebM)")
        self.side_by_side = QCheckBox("Original frame beside the decoded one")
        self.counter = QCheckBox("Frame counter")
        self.ping_pong = QCheckBox("Ping-pong loop (forward, then back)")

        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("Save as:", row)
        form.addRow("Frame rate:", self.fps)
        form.addRow("Output size:", self.size)
        form.addRow("Upscaling filter:", self.resize_filter)
        form.addRow("Quality (CRF):", self.quality)
        form.addRow("", self.side_by_side)
        form.addRow("", self.counter)
        form.addRow("", self.ping_pong)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.overwrite = False

    def output_path(self) -> str:
        """The target; PNG folders end with a slash so the format stays unambiguous."""
        text = self.output.text().strip()
        if self.format.currentData() == "/" and not text.endswith("/"):
            text += "/"
        return text

    def settings(self):
        from explorer.pipeline.export import ExportSettings

        return ExportSettings(
            fps=self.fps.value(),
            size=self.size.value() or None,
            resize_filter=self.resize_filter.currentData(),
            quality=self.quality.value(),
            side_by_side=self.side_by_side.isChecked(),
            frame_counter=self.counter.isChecked(),
            ping_pong=self.ping_pong.isChecked(),
            overwrite=self.overwrite,
        )

    def _on_format(self) -> None:
        suffix = self.format.currentData()
        stem = Path(self.output.text().rstrip("/"))
        stem = stem.with_suffix("") if stem.suffix in {".mp4", ".webm", ".gif"} else stem
        self.output.setText(f"{stem}/" if suffix == "/" else f"{stem}{suffix}")

    def _browse(self) -> None:
        if self.format.currentData() == "/":
            folder = QFileDialog.getExistingDirectory(self, "Folder for PNG frames")
            if folder:
                self.output.setText(f"{folder}/")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export clip as", self.output.text())
        if path:
            self.output.setText(path)

    def _accept(self) -> None:
        target = Path(self.output_path())
        exists = target.exists() and (not target.is_dir() or any(target.iterdir()))
        if exists:
            answer = QMessageBox.question(self, "Replace?", f"{target} exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.overwrite = True
        self.accept()
