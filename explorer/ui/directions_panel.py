"""The Directions tab: a direction in latent space from two groups of frames (B's mean
latent minus A's; pick each group with a lasso, Ctrl+drag on the map, or a range of
frames), or one of the video's principal directions, ready-made; then an amount slider
moves the probe, the current frame or the whole keyframe path along it. Directions are
kept in the session and saved as ``.npy`` for ``explorer export --direction``."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError
from explorer.state.app import AppState
from explorer.ui.sliders import KeyedSlider

PRINCIPAL = 5
"""Principal directions offered ready-made."""
TICKS = 10
"""Slider positions per unit of amount."""
REACH = 3
TARGETS = (("the probe", "probe"), ("the current frame", "frame"),
           ("the keyframe path", "path"))
DIRECTION_FILTER = "Directions (*.npy);;All files (*)"


class DirectionsPanel(QWidget):
    """See the module docstring."""

    failed = Signal(str)
    message = Signal(str)

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self._groups: dict[str, np.ndarray] = {}
        self._start: np.ndarray | None = None  # the latent the amount moves from
        self.selection_label = QLabel("")
        self.range_from, self.range_to = QSpinBox(), QSpinBox()
        select_range = QPushButton("Select Range")
        select_range.setToolTip("Select the frames from one to the other, as a lasso would")
        select_range.clicked.connect(self.select_range)
        self.set_a, self.set_b = QPushButton("Selection → A"), QPushButton("Selection → B")
        self.set_a.clicked.connect(lambda: self.take_group("A"))
        self.set_b.clicked.connect(lambda: self.take_group("B"))
        self.groups_label = QLabel("A: none · B: none")
        self.choice = QComboBox()
        self.choice.setToolTip("The direction the amount moves along")
        self.choice.currentIndexChanged.connect(lambda _index: self._restart())
        self.target = QComboBox()
        for label, key in TARGETS:
            self.target.addItem(label, key)
        self.target.currentIndexChanged.connect(lambda _index: self._restart())
        self.amount = KeyedSlider()
        self.amount.setRange(-REACH * TICKS, REACH * TICKS)
        self.amount.valueChanged.connect(self._move)
        self.amount.sliderReleased.connect(self._moved_path)
        self.amount_label = QLabel("0.0×")
        save, load = QPushButton("Save…"), QPushButton("Load…")
        save.clicked.connect(self.save)
        load.clicked.connect(self.load)

        ranges = QHBoxLayout()
        for widget in (QLabel("Frames"), self.range_from, QLabel("to"), self.range_to,
                       select_range):
            ranges.addWidget(widget)
        groups = QHBoxLayout()
        for widget in (self.set_a, self.set_b):
            groups.addWidget(widget)
        sliding = QHBoxLayout()
        sliding.addWidget(self.amount, 1)
        sliding.addWidget(self.amount_label)
        files = QHBoxLayout()
        files.addStretch(1)
        files.addWidget(save)
        files.addWidget(load)
        form = QFormLayout()
        form.addRow("Direction", self.choice)
        form.addRow("Move", self.target)
        form.addRow("Amount", sliding)
        layout = QVBoxLayout(self)
        hint = QLabel("Select frames with Ctrl+drag (a lasso) on the map, or a range:")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(ranges)
        layout.addWidget(self.selection_label)
        layout.addLayout(groups)
        layout.addWidget(self.groups_label)
        layout.addLayout(form)
        layout.addLayout(files)
        layout.addStretch(1)

    def on_state_changed(self, aspect: str) -> None:
        if aspect == "documents":
            self._groups = {}
            trajectory = self.state.trajectory
            last = 0 if trajectory is None else len(trajectory) - 1
            for box in (self.range_from, self.range_to):
                box.setRange(0, last)
            self.range_to.setValue(last)
            self._list_directions()
            self._show_groups()
        if aspect in ("documents", "selection"):
            self.selection_label.setText(f"{len(self.state.selection)} frames selected")
        if aspect == "findings":
            self._list_directions()
        if aspect == "frame" and self.target.currentData() == "frame":
            self._restart()

    # --- groups and directions ----------------------------------------------------------

    def select_range(self) -> None:
        first, last = sorted((self.range_from.value(), self.range_to.value()))
        self.state.set_selection(np.arange(first, last + 1))

    def take_group(self, name: str) -> None:
        """The selection becomes group ``name``; with both groups, B − A is a direction."""
        from explorer.analysis.directions import mean_difference

        if not self.state.selection:
            self.failed.emit("select some frames first: Ctrl+drag a lasso on the map, or "
                             "choose a range of frames")
            return
        self._groups[name] = np.asarray(self.state.selection)
        self._show_groups()
        if len(self._groups) == 2:
            mu = self.state.trajectory.mu
            self.state.add_direction("B − A", mean_difference(mu, self._groups["A"],
                                                              self._groups["B"]))
            self.choice.setCurrentIndex(self.choice.findText("B − A"))
            self.message.emit("The direction from group A to group B is ready")

    def _show_groups(self) -> None:
        sizes = {name: f"{len(rows)} frames" for name, rows in self._groups.items()}
        self.groups_label.setText(f"A: {sizes.get('A', 'none')} · B: {sizes.get('B', 'none')}")

    def _list_directions(self) -> None:
        """The state's directions, then the principal ones."""
        current = self.choice.currentText()
        self.choice.blockSignals(True)
        self.choice.clear()
        for name in self.state.directions:
            self.choice.addItem(name)
        if self.state.trajectory is not None:
            for rank in range(PRINCIPAL):
                self.choice.addItem(f"PC {rank + 1}")
        found = self.choice.findText(current)
        self.choice.setCurrentIndex(max(found, 0))
        self.choice.blockSignals(False)
        self._restart()

    @property
    def direction(self) -> np.ndarray | None:
        """The chosen direction, flat [D] float32."""
        from explorer.analysis.directions import principal_directions

        name, trajectory = self.choice.currentText(), self.state.trajectory
        if trajectory is None or not name:
            return None
        if name in self.state.directions:
            return self.state.directions[name]
        rank = int(name.split()[-1]) - 1
        return principal_directions(trajectory.mu, PRINCIPAL)[rank]

    # --- moving along it ----------------------------------------------------------------

    def _restart(self) -> None:
        """A new direction or target: the amount starts from zero again, from where the
        target is now."""
        trajectory, target = self.state.trajectory, self.target.currentData()
        self._start = None
        if trajectory is not None:
            if target == "frame":
                self._start = trajectory.mu[self.state.frame].astype(np.float32)
            elif target == "probe" and self.state.probe is not None:
                self._start = self.state.probe.copy()
        self.amount.blockSignals(True)
        self.amount.setValue(0)
        self.amount.blockSignals(False)
        self.amount_label.setText("0.0×")

    def _move(self, value: int) -> None:
        amount = value / TICKS
        self.amount_label.setText(f"{amount:+.1f}×")
        direction = self.direction
        if direction is None or self.target.currentData() == "path" or self._start is None:
            return
        self.state.set_probe(self._start + np.float32(amount) * direction)

    def _moved_path(self) -> None:
        """The keyframe path takes the amount once the slider is let go (undoable)."""
        direction = self.direction
        if self.target.currentData() != "path" or direction is None:
            return
        amount = self.amount.value() / TICKS
        clip = self.state.clip
        shift = None if amount == 0 else np.float32(amount) * direction
        self.state.edit_clip(clip.with_shift(shift), f"Move path {amount:+.1f}× along "
                                                     f"{self.choice.currentText()}")

    # --- files ------------------------------------------------------------------------

    def save(self) -> None:
        from explorer.analysis.directions import save_direction

        direction = self.direction
        if direction is None:
            return
        name = self.choice.currentText().replace(" ", "").replace("−", "-")
        video = self.state.video_path
        suggested = video.with_name(f"{video.stem}_{name}.npy") if video else f"{name}.npy"
        path, _ = QFileDialog.getSaveFileName(self, "Save Direction", str(suggested),
                                              DIRECTION_FILTER)
        if path:
            try:
                save_direction(path, direction)
            except (ExplorerError, OSError) as exc:
                self.failed.emit(f"could not save the direction: {exc}")
                return
            self.message.emit(f"Saved {path}")

    def load(self) -> None:
        from pathlib import Path

        from explorer.analysis.directions import load_direction

        trajectory = self.state.trajectory
        if trajectory is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load Direction", "", DIRECTION_FILTER)
        if not path:
            return
        try:
            direction = load_direction(path, trajectory.mu.shape[1])
        except (ExplorerError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        self.state.add_direction(Path(path).stem, direction)
        self.choice.setCurrentIndex(self.choice.findText(Path(path).stem))
