"""The Analysis tab: the trajectory's scenes and its most anomalous frames, found on a
thread (a long video takes seconds), listed (click one to go there; double-click a scene
to name it) and shown on the map's colours and the timeline."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.errors import ExplorerError, describe_error
from explorer.state.app import AppState

TOP_ANOMALIES = 20
"""Frames listed as the most anomalous."""
ROW = Qt.ItemDataRole.UserRole


class AnalysisPanel(QWidget):
    """Finds scenes and anomalies of the open trajectory; see the module docstring."""

    failed = Signal(str)
    message = Signal(str)
    _found = Signal(object, str, object)  # the trajectory analysed, what, the result

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.find_scenes_button = QPushButton("Find Scenes")
        self.find_scenes_button.setToolTip("Cut the video where its latents jump, and group "
                                           "the scenes that look alike")
        self.find_scenes_button.clicked.connect(self.find_scenes)
        self.score_button = QPushButton("Find Anomalies")
        self.score_button.setToolTip("Score every frame by its reconstruction error and how "
                                     "far its latent sits from its neighbours")
        self.score_button.clicked.connect(self.find_anomalies)
        self.scenes = QListWidget()
        self.scenes.setToolTip("Click a scene to go to its start; double-click to name it")
        self.scenes.itemClicked.connect(self._go_to_item)
        self.scenes.itemChanged.connect(self._renamed)
        self.anomalies = QListWidget()
        self.anomalies.setToolTip("The frames that stand out most: click one to go there")
        self.anomalies.itemClicked.connect(self._go_to_item)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.find_scenes_button)
        buttons.addWidget(self.score_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("Scenes"))
        layout.addWidget(self.scenes, 1)
        layout.addWidget(QLabel("Most anomalous frames"))
        layout.addWidget(self.anomalies, 1)
        layout.addWidget(self.status)
        self._busy: set[str] = set()
        self._found.connect(self._on_found)
        self._enable()

    def on_state_changed(self, aspect: str) -> None:
        if aspect in ("documents", "findings"):
            self._list_findings()
        if aspect == "documents":
            self._busy.clear()
            self.status.setText("")
            self._enable()

    # --- finding, on a thread -----------------------------------------------------------

    def find_scenes(self) -> None:
        from explorer.analysis.segments import find_segments

        trajectory = self.state.trajectory
        if trajectory is not None:
            self._start("scenes", lambda: find_segments(trajectory.mu, trajectory.time_s))

    def find_anomalies(self) -> None:
        from explorer.analysis.anomalies import score_anomalies

        trajectory = self.state.trajectory
        if trajectory is not None:
            self._start("anomalies", lambda: score_anomalies(trajectory.mu, trajectory.psnr_db))

    def _start(self, what: str, work: Callable[[], Any]) -> None:
        self._busy.add(what)
        self._enable()
        self.status.setText(f"Finding {what}…")
        trajectory = self.state.trajectory
        threading.Thread(target=self._run, args=(trajectory, what, work), daemon=True,
                         name=f"find-{what}").start()

    def _run(self, trajectory: Any, what: str, work: Callable[[], Any]) -> None:
        try:
            result = work()
        except ExplorerError as exc:
            result = exc
        except Exception as exc:  # a bug must not kill the thread silently
            result = ExplorerError(describe_error(exc, with_type=True))
        self._found.emit(trajectory, what, result)

    def _on_found(self, trajectory: Any, what: str, result: Any) -> None:
        self._busy.discard(what)
        self._enable()
        if trajectory is not self.state.trajectory:
            return  # another video was opened meanwhile
        if isinstance(result, ExplorerError):
            self.status.setText("")
            self.failed.emit(str(result))
            return
        findings = self.state.findings
        if what == "scenes":
            names = tuple(f"Scene {scene + 1}" for scene in range(result.segments))
            self.state.set_findings(replace(findings, scenes=result, scene_names=names),
                                    colouring="segment")
            summary = f"{result.segments} scenes ({result.clusters} kinds)"
        else:
            self.state.set_findings(replace(findings, anomalies=result), colouring="anomaly")
            summary = "anomaly scores of every frame"
        self.status.setText(f"Found {summary}.")
        self.message.emit(f"Found {summary}")

    def _enable(self) -> None:
        has = self.state.trajectory is not None
        self.find_scenes_button.setEnabled(has and "scenes" not in self._busy)
        self.score_button.setEnabled(has and "anomalies" not in self._busy)

    # --- the lists ----------------------------------------------------------------------

    def _list_findings(self) -> None:
        findings, trajectory = self.state.findings, self.state.trajectory
        self.scenes.blockSignals(True)
        self.scenes.clear()
        if findings.scenes is not None and trajectory is not None:
            for scene, (first, last) in enumerate(findings.scenes.spans()):
                item = QListWidgetItem(findings.scene_names[scene])
                item.setData(ROW, first)
                item.setToolTip(f"{self.state.describe_frame(self.state.frame_number(first))}"
                                f" to {self.state.frame_number(last)}")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.scenes.addItem(item)
        self.scenes.blockSignals(False)
        self.anomalies.clear()
        scores = findings.anomalies
        if scores is not None and trajectory is not None:
            for row in scores.top(TOP_ANOMALIES):
                frame = self.state.describe_frame(self.state.frame_number(int(row)))
                item = QListWidgetItem(f"{frame} · {scores.score[row]:.2f} · "
                                       f"{scores.reasons(int(row))}")
                item.setData(ROW, int(row))
                self.anomalies.addItem(item)

    def _go_to_item(self, item: QListWidgetItem) -> None:
        self.state.set_frame(int(item.data(ROW)))

    def _renamed(self, item: QListWidgetItem) -> None:
        self.state.rename_scene(self.scenes.row(item), item.text())
