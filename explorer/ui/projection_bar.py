"""The bar above the map: choose PCA or UMAP, follow a UMAP layout being computed, and
choose what the points' colours show.

PCA is instant. UMAP is fitted in a child process (see ``explorer.latent.background``);
until it is ready the map keeps showing the layout it shows, and a progress bar with a
Cancel button shows how far the layout has come. Fitted layouts go into the state, so
switching back and forth is instant after the first fit. The box always names the layout
on the map, or the one being fitted.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from explorer.state.app import AppState
from explorer.state.colouring import COLOURING_NAMES

KINDS = (("PCA", "pca"), ("UMAP", "umap"))
POLL_MS = 100


class ProjectionBar(QWidget):
    """Fits the layouts the user asks for and shows them through the state."""

    failed = Signal(str)
    message = Signal(str)  # for the status bar: a layout is ready
    chosen = Signal(str)
    """The user picked a layout (a change to save with the session)."""

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self.choice = QComboBox()
        for label, kind in KINDS:
            self.choice.addItem(label, kind)
        self.choice.setToolTip("2-D view of the latents: PCA is instant, UMAP shows clusters")
        self.choice.activated.connect(lambda _index: self.request(self.choice.currentData()))
        self._progress = QProgressBar()
        self._progress.setMaximumWidth(200)
        self._progress.setTextVisible(True)
        self._estimate = QLabel("")
        self._cancel = QPushButton("Cancel")
        self._cancel.clicked.connect(self.cancel)
        self.colouring = QComboBox()
        self.colouring.setToolTip("What the points' colours show")
        self.colouring.activated.connect(
            lambda _index: self.state.set_colouring(self.colouring.currentData()))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Projection:"))
        layout.addWidget(self.choice)
        layout.addWidget(self._progress)
        layout.addWidget(self._estimate)
        layout.addWidget(self._cancel)
        layout.addStretch(1)
        layout.addWidget(QLabel("Colour:"))
        layout.addWidget(self.colouring)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll)
        self._fit = None
        self._started = 0.0
        self._show_busy(False)

    @property
    def kind(self) -> str:
        return self.choice.currentData()

    @property
    def fitting(self) -> bool:
        return self._fit is not None

    def on_state_changed(self, aspect: str) -> None:
        if aspect == "documents":
            self.cancel()
        if aspect in ("documents", "projection"):
            self._name(self.state.projection_kind)
        if aspect in ("documents", "points"):
            self._list_colourings()

    def _list_colourings(self) -> None:
        self.colouring.clear()
        for kind in self.state.colourings:
            self.colouring.addItem(COLOURING_NAMES[kind], kind)
        self.colouring.setCurrentIndex(self.colouring.findData(self.state.colouring))
        self.colouring.setEnabled(self.colouring.count() > 1)

    def request(self, kind: str) -> None:
        """Show the ``kind`` layout: at once when fitted, else once a fit finishes."""
        if self.state.trajectory is None:
            self._name(self.state.projection_kind)
            return
        self.chosen.emit(kind)
        if kind in self.state.layouts:
            self.cancel()
            self.state.show_layout(kind)
        elif self._fit is None or self._fit.kind != kind:
            self.cancel()
            self._start_fit(kind)
        self._name(kind)

    def cancel(self) -> None:
        """Stop a fit; the box names the layout on the map again."""
        if self._fit is not None:
            self._fit.cancel()
            self._fit = None
        self._timer.stop()
        self._show_busy(False)
        self._name(self.state.projection_kind)

    def _name(self, kind: str) -> None:
        self.choice.setCurrentIndex(self.choice.findData(kind))

    def _start_fit(self, kind: str) -> None:
        from explorer.latent.background import BackgroundFit

        self._fit = BackgroundFit(kind, self.state.trajectory.mu, seed=0)
        self._started = time.monotonic()
        self._progress.setRange(0, 0)
        self._progress.setFormat(f"{kind.upper()}: starting…")
        self._estimate.setText("")
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
            self._progress.setFormat(f"{self._fit.kind.upper()} layout %p%")
            self._estimate.setText(_time_left(time.monotonic() - self._started,
                                              news.done / max(news.total, 1)))
            return
        self._fit = None
        self._timer.stop()
        self._show_busy(False)
        if isinstance(news, Exception):
            self._name(self.state.projection_kind)
            self.failed.emit(str(news))
            return
        self.state.add_layout(news)
        self.state.show_layout(news.kind)
        seconds = time.monotonic() - self._started
        self.message.emit(f"{news.kind.upper()} layout ready ({seconds:.0f} s)")

    def _show_busy(self, busy: bool) -> None:
        for widget in (self._progress, self._estimate, self._cancel):
            widget.setVisible(busy)


def _time_left(elapsed: float, fraction: float) -> str:
    """"about 20 s left", from the pace so far (nothing until there is a pace)."""
    if fraction < 0.05 or elapsed < 1:
        return "estimating…"
    left = elapsed * (1 - fraction) / fraction
    return f"about {left:.0f} s left" if left < 90 else f"about {left / 60:.0f} min left"
