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

from explorer.state.settings import FPS, QUALITY, SIZE, ExportChoices
from explorer.video.formats import CLIP_EXTENSIONS, CLIP_FORMATS, RESIZE_FILTERS


class ExportDialog(QDialog):
    """Collects an output path and :class:`~explorer.state.settings.ExportChoices`, starting
    from the choices made last time."""

    def __init__(self, suggested: Path, choices: ExportChoices, clip_fps: float,
                 parent: QWidget | None = None) -> None:
        """``suggested`` is the output path without its suffix; ``clip_fps`` the clip's
        own frame rate (the choices may follow it)."""
        super().__init__(parent)
        self.setWindowTitle("Export Clip")
        self._clip_fps = clip_fps
        self.format = QComboBox()
        for fmt, (label, _) in CLIP_FORMATS.items():
            self.format.addItem(label, fmt)
        self.format.setCurrentIndex(self.format.findData(choices.format))
        self.format.currentIndexChanged.connect(self._on_format)
        # Appended, not with_suffix(): a stem such as "take.2_clip" has no suffix to replace.
        self.output = QLineEdit(f"{suggested}{CLIP_FORMATS[self.format.currentData()].suffix}")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.output, 1)
        row.addWidget(browse)
        self.fps = QDoubleSpinBox(minimum=FPS[0], maximum=FPS[1], value=choices.fps or clip_fps,
                                  suffix=" fps")
        self.size = QSpinBox(minimum=0, maximum=SIZE[1], value=choices.size or 0, singleStep=64,
                             suffix=" px")
        self.size.setSpecialValueText("model's size")
        self.size.setToolTip("Longest side of each decoded frame in the clip")
        self.resize_filter = QComboBox()
        for name in RESIZE_FILTERS:
            self.resize_filter.addItem(name, name)
        self.resize_filter.setCurrentIndex(self.resize_filter.findData(choices.resize_filter))
        self.quality = QSpinBox(minimum=QUALITY[0], maximum=QUALITY[1], value=choices.quality)
        self.side_by_side = QCheckBox("Original frame beside the decoded one")
        self.side_by_side.setChecked(choices.side_by_side)
        self.counter = QCheckBox("Frame counter")
        self.counter.setChecked(choices.frame_counter)
        self.ping_pong = QCheckBox("Ping-pong loop (forward, then back)")
        self.ping_pong.setChecked(choices.ping_pong)

        self._enable_quality()

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
        if self.format.currentData() == "png" and not text.endswith("/"):
            text += "/"
        return text

    def choices(self) -> ExportChoices:
        """What the user chose; a frame rate left at the clip's own follows the clip."""
        size = self.size.value()
        fps = self.fps.value()
        return ExportChoices(
            format=self.format.currentData(),
            fps=None if abs(fps - self._clip_fps) < 1e-6 else fps,
            size=max(size, SIZE[0]) if size else None,
            resize_filter=self.resize_filter.currentData(),
            quality=self.quality.value(),
            side_by_side=self.side_by_side.isChecked(),
            frame_counter=self.counter.isChecked(),
            ping_pong=self.ping_pong.isChecked(),
        )

    def _on_format(self) -> None:
        self._enable_quality()
        suffix = CLIP_FORMATS[self.format.currentData()].suffix
        stem = Path(self.output.text().rstrip("/"))
        stem = stem.with_suffix("") if stem.suffix.lower() in CLIP_EXTENSIONS else stem
        self.output.setText(f"{stem}{suffix}")

    def _enable_quality(self) -> None:
        """CRF applies to the video codecs only: GIF and PNG frames have no such setting."""
        lossy = self.format.currentData() in ("mp4", "webm")
        self.quality.setEnabled(lossy)
        self.quality.setToolTip("0 is best, 51 worst; 18–28 is typical" if lossy else
                                "Quality applies to MP4 and WebM only")

    def _browse(self) -> None:
        if self.format.currentData() == "png":
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
