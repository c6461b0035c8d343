"""Open Video Range: which frames of a video to encode (the CLI's --start, --end,
--stride and --max-frames)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

MAX_FRAME = 10_000_000


class VideoRangeDialog(QDialog):
    def __init__(self, video: Path, frame_count: int | None,
                 parent: QWidget | None = None) -> None:
        """``frame_count`` is what the container claims (None when it does not say)."""
        super().__init__(parent)
        self.setWindowTitle(f"Frames of {video.name} to encode")
        last = (frame_count or MAX_FRAME) - 1
        self.start = QSpinBox(minimum=0, maximum=max(0, last))
        self.end = QSpinBox(minimum=0, maximum=max(0, last) + 1)
        self.end.setSpecialValueText("the last frame")
        self.stride = QSpinBox(minimum=1, maximum=10_000, value=1)
        self.stride.setToolTip("Every Nth frame: 2 encodes every other frame")
        self.max_frames = QSpinBox(minimum=0, maximum=MAX_FRAME)
        self.max_frames.setSpecialValueText("no limit")
        form = QFormLayout()
        claim = f"{frame_count:,} frames" if frame_count else "an unknown number of frames"
        form.addRow(QLabel(f"The video says it has {claim}."))
        form.addRow("First frame:", self.start)
        form.addRow("Up to frame (not included):", self.end)
        form.addRow("Every:", self.stride)
        form.addRow("At most:", self.max_frames)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def selection(self) -> dict[str, int | None]:
        """``explorer.pipeline.encode.Selection`` fields."""
        return {"start": self.start.value(), "end": self.end.value() or None,
                "stride": self.stride.value(), "max_frames": self.max_frames.value() or None}
