"""The bar above the map: choose PCA or UMAP, and follow a UMAP layout being computed.

PCA is instant. UMAP is fitted in a child process (see ``explorer.latent.background``);
until it is ready the map keeps showing PCA, and a progress bar with a Cancel button
shows how far the layout has come. Layouts are kept per trajectory, so switching back
and forth is instant after the first fit.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

KINDS = (("PCA", "pca"), ("UMAP", "umap"))
POLL_MS = 100


class ProjectionBar(QWidget):
    """Emits ``projectionReady(projection)`` whenever the map should change its layout."""

    projectionReady = Signal(object)
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.choice = QComboBox()
        for label, kind in KINDS:
            self.choice.addItem(label, kind)
        self.choice.setToolTip("2-D view of the latents: PCA is instant, UMAP shows clusters")
        self.choice.currentIndexChanged.connect(self._on_choice)
        self._progress = QProgressBar()
        self._progress.setMaximumWidth(200)
        self._progress.setFormat("UMAP layout %p%")
        self._cancel = QPushButton("Cancel")
        self._cancel.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Projection:"))
        layout.addWidget(self.choice)
        layout.addWidget(self._progress)
        layout.addWidget(self._cancel)
        layout.addStretch(1)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)
        self._fit = None
        self._fitted: dict[str, object] = {}
        self._latents = None
        self._show_busy(False)

    @property
    def kind(self) -> str:
        return self.choice.currentData()

    @property
    def fitting(self) -> bool:
        return self._fit is not None

    def set_trajectory(self, latents, pca, restored: dict | None = None,
                       kind: str | None = None) -> None:
        """A new trajectory with its PCA projection (and any layouts restored from a session);
        ``kind`` (or the current choice) is shown as soon as it is ready."""
        self.cancel()
        self._latents = latents
        self._fitted = {**(restored or {}), "pca": pca}
        index = self.choice.findData(kind) if kind else -1
        if index >= 0 and index != self.choice.currentIndex():
            self.choice.setCurrentIndex(index)  # shows it through _on_choice
        else:
            self._on_choice()

    def fitted_states(self) -> dict[str, dict]:
        """``state()`` of every layout computed for this trajectory, by kind."""
        return {kind: projection.state() for kind, projection in self._fitted.items()}

    def clear(self) -> None:
        self.cancel()
        self._fitted, self._latents = {}, None

    def cancel(self) -> None:
        if self._fit is not None:
            self._fit.cancel()
            self._fit = None
        self._timer.stop()
        self._show_busy(False)

    def _on_choice(self) -> None:
        if self._latents is None:
            return
        kind = self.kind
        if kind in self._fitted:
            self.projectionReady.emit(self._fitted[kind])
        elif self._fit is None:
            self._start_fit(kind)

    def _start_fit(self, kind: str) -> None:
        from explorer.latent.background import BackgroundFit

        self._fit = BackgroundFit(kind, self._latents, seed=0)
        self._progress.setRange(0, 0)
        self._show_busy(True)
        self._timer.start(POLL_MS)

    def _poll(self) -> None:
        from explorer.latent.background import FitProgress

        news = self._fit.poll() if self._fit is not None else None
        if news is None:
            return
        if isinstance(news, FitProgress):
            self._progress.setRange(0, news.total)
            self._progress.setValue(news.done)
            return
        kind = self._fit.kind
        self._fit = None
        self._timer.stop()
        self._show_busy(False)
        if isinstance(news, Exception):
            self.failed.emit(str(news))
            self.choice.setCurrentIndex(0)
            return
        self._fitted[kind] = news
        if self.kind == kind:
            self.projectionReady.emit(news)

    def _show_busy(self, busy: bool) -> None:
        self._progress.setVisible(busy)
        self._cancel.setVisible(busy)
