"""Model › Compare With… and End Comparison: a second model on the open video.

The second model opens through the window's :class:`~explorer.ui.trust.CodeGate` (a code
model runs only once the user trusts it) and runs on the same inference worker as the
first (:meth:`~explorer.ui.worker.InferenceWorker.compare`). What is compared lives in a
Qt-free :class:`~explorer.state.comparison.ComparisonState`; this binds it to the second
map, the second reconstruction, the difference view and the timeline's second curve. The
current frame is the window's: the timeline, either map or a keyframe moves both models,
each to its row showing that video frame (a video autoencoder's row is a latent step of
several frames). A point hovered on the second map shows the thumbnail of its row's first
frame, as on the first, even where that frame is inside one of the first model's steps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from explorer.errors import ExplorerError
from explorer.model.kinds import MODEL_SUFFIXES
from explorer.state.app import AppState
from explorer.state.comparison import ComparedModel, ComparisonState, check_comparable
from explorer.ui.compare_views import CompareMap, CompareViews
from explorer.ui.latent_map import LatentMap
from explorer.ui.timeline import Timeline
from explorer.ui.trust import CodeGate
from explorer.ui.worker import ComparisonPreview, InferenceWorker, Thumbnail

MODEL_FILTER = f"Models ({' '.join('*' + s for s in MODEL_SUFFIXES)});;All files (*)"


class ComparisonController(QObject):
    """See the module docstring. ``window`` parents dialogs; ``interactive()`` says
    whether it may ask (a code model is refused without asking when not); ``show_error``,
    ``show_message`` and ``busy`` are the window's feedback."""

    def __init__(self, window: QWidget, state: AppState, worker: InferenceWorker,
                 first_map: LatentMap, timeline: Timeline, code_gate: CodeGate,
                 interactive: Callable[[], bool], show_error: Callable[[str, str], None],
                 show_message: Callable[[str], None], busy: Callable[[bool], None]) -> None:
        super().__init__(window)
        self.window, self.state, self.worker = window, state, worker
        self.first_map, self.timeline, self.code_gate = first_map, timeline, code_gate
        self.interactive = interactive
        self._show_error, self._show_message, self._busy = show_error, show_message, busy
        self.comparison = ComparisonState()
        self.map = CompareMap()
        self.views = CompareViews()
        self.reconstruction_view, self.difference_view = (self.views.reconstruction,
                                                          self.views.difference)
        self.end_action: QAction | None = None
        """Model › End Comparison, enabled while comparing."""
        self._stamp = self._hover_stamp = 0
        self._hovered = -1
        self.shown_row = -1
        """The row whose second reconstruction is shown (-1: none)."""
        self._show(False)
        worker.comparisonReady.connect(self._on_ready)
        worker.comparisonPreviewReady.connect(self._on_preview)
        worker.thumbnailReady.connect(self._on_thumbnail)
        self.map.frameClicked.connect(self._go_to)
        self.map.map.frameHovered.connect(self._ask_thumbnail)
        self.map.map.describe_point = self._describe_point
        state.changed.connect(self.on_state_changed)
        self.comparison.changed.connect(self._on_comparison_changed)

    def choose(self) -> None:
        """Ask for the second model's file (Model › Compare With…)."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Compare With Model", "",
                                              MODEL_FILTER)
        if path:
            self.start(Path(path))

    def start(self, model: Path) -> bool:
        """Open ``model`` beside the open one and encode the video with it; False, with
        nothing asked of the worker, when it cannot be compared or its code may not run."""
        try:
            check_comparable(self.state.trajectory, self.state.library is not None)
        except ExplorerError as exc:
            self._show_error(str(exc), "Compare With Model")
            return False
        trusted = self.code_gate.permits(model, self.window, ask=self.interactive())
        if not trusted:
            self._show_message(f"Did not open {Path(model).name}: its code was not run")
            return False
        self._busy(True)
        self.worker.compare(model, trust_code=trusted)
        return True

    def end(self) -> None:
        """Model › End Comparison: the second model goes, the window is as before."""
        if self.comparison.active:
            self._show_message(f"Ended the comparison with {self.comparison.model.name}")
        self.comparison.end()
        self.worker.end_comparison()

    # --- answers and changes --------------------------------------------------------

    def _on_ready(self, model: str, trajectory, pca, info: dict) -> None:
        reference = self.state.trajectory
        if reference is None:
            return
        try:
            self.comparison.open(ComparedModel(Path(model), trajectory, pca, info), reference,
                                 self.state.projection, self.state.projection_kind)
        except ExplorerError as exc:
            self.worker.end_comparison()
            self._show_error(str(exc), "Compare With Model")

    def on_state_changed(self, aspect: str) -> None:
        if not self.comparison.active:
            return
        if aspect == "documents":  # another video or model: the comparison was of the last
            self.end()
        elif aspect in ("layouts", "projection"):
            self.comparison.relayout(self.state.projection, self.state.projection_kind)
        elif aspect == "frame":
            self._follow_frame()

    def _on_comparison_changed(self, what: str) -> None:
        comparison = self.comparison
        active = comparison.active
        self._show(active)
        if not active:
            self.timeline.show_compared(None)
            self.shown_row = -1
            self.reconstruction_view.clear()
            self.difference_view.clear()
            return
        model, maps = comparison.model, comparison.maps
        self.map.show_points(maps.b, model.trajectory.time_s, f"B: {model.name} ({maps.note})",
                             self.first_map.aspect_locked if maps.aligned else True)
        if what == "opened":
            self.timeline.show_compared(comparison.psnr_on_first_rows)
            self._show_message(f"Comparing with {model.name}: {maps.note}")
        self._follow_frame()

    def _follow_frame(self) -> None:
        state = self.state
        position = self.comparison.second_position(state.frame, state.within)
        self.map.set_current(-1 if position is None else position[0])
        self._stamp = self.worker.request_comparison(state.frame, state.within)

    def _go_to(self, second_row: int) -> None:
        """A point of the second map clicked: the first frame of its row, in both."""
        if self.comparison.active:
            self.state.set_frame(*self.comparison.first_position(second_row))

    def _describe_point(self, second_row: int) -> str:
        if not self.comparison.active:
            return ""
        return self.first_map.describe_point(self.comparison.first_position(second_row)[0])

    def _on_preview(self, preview: ComparisonPreview) -> None:
        if preview.stamp != self._stamp or not self.comparison.active:
            return
        self.shown_row = preview.row
        if preview.reconstruction is None or preview.difference is None:
            absent = f"{self.comparison.model.name} did not encode frame {preview.frame}"
            self.reconstruction_view.show_message(absent)
            self.difference_view.show_message(absent)
            return
        caption = self.comparison.describe(preview.row)
        self.reconstruction_view.set_frame(preview.reconstruction, caption)
        self.difference_view.set_frame(preview.difference, "brighter: the models differ more")

    def _ask_thumbnail(self, second_row: int) -> None:
        self._hovered = second_row
        if second_row >= 0 and self.comparison.active:
            self._hover_stamp = self.worker.request_thumbnail(
                *self.comparison.first_position(second_row))  # its frame, within a step

    def _on_thumbnail(self, thumbnail: Thumbnail) -> None:
        """The newest thumbnail asked for the second map (the first map's own are the
        previews'); shown if its point is still hovered."""
        if (thumbnail.stamp == self._hover_stamp and self._hovered >= 0
                and self.comparison.active):
            self.map.map.show_thumbnail(self._hovered, thumbnail.image)

    def _show(self, active: bool) -> None:
        self.map.setVisible(active)
        self.views.setVisible(active)
        if self.end_action is not None:
            self.end_action.setEnabled(active)
