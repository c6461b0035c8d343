"""Train a built-in autoencoder (a β-VAE by default) on the open video: live loss and
held-out PSNR curves (with the PCA baseline to beat), a Stop button, and when training ends
the final curves, a summary and the choice to open the new model or keep the current one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.model.training import (
    BaselineReady,
    EpochDone,
    FramesRead,
    StepDone,
    TrainEvent,
    TrainSettings,
)
from explorer.ui.worker import InferenceWorker

FAMILIES = (("β-VAE", "vae"), ("Autoencoder (deterministic)", "ae"),
            ("VQ-VAE (codebook)", "vq-vae"), ("VAE-GAN (β-VAE with a discriminator)", "vae-gan"))


LOSS_COLOUR = (90, 160, 255)
PSNR_COLOUR = (90, 200, 140)
BEST_COLOUR = (255, 165, 40)
SPATIAL_GRIDS = (8, 16, 32)
"""The grids of spatial latents offered (``explorer train --latent-shape`` takes any)."""
PLOT_EVERY_STEPS = 5
"""The loss curve is redrawn every this many steps (and at each epoch's end)."""


class TrainDialog(QDialog):
    """Collects training settings, runs the job on the worker and plots its progress.

    The dialog stays open when training ends. With a model saved, it is accepted when the
    user opens the new model (``saved_model``) and rejected when they keep the current one.
    """

    def __init__(self, worker: InferenceWorker, video: Path, folder: Path,
                 parent: QWidget | None = None):
        """``folder`` is where the model is suggested to go."""
        super().__init__(parent)
        self.setWindowTitle(f"Train a model on {video.name}")
        self.resize(820, 660)
        self._worker, self._video = worker, video
        self._running = False
        self._stopping = False
        self.saved_model: Path | None = None
        self._failure: str | None = None
        self._loss_x: list[float] = []
        self._losses: list[float] = []
        self._epochs: list[EpochDone] = []
        self._baseline: BaselineReady | None = None

        self._folder = folder
        self.output = QLineEdit(self._suggested_output("vae"))
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output, 1)
        output_row.addWidget(browse)
        self.size = QComboBox()
        for size in (64, 128, 256):
            self.size.addItem(f"{size} px", size)
        defaults = TrainSettings()  # the recipe's defaults, as explorer train's
        self.family = QComboBox()
        for label, family in FAMILIES:
            self.family.addItem(label, family)
        self.latent_grid = QComboBox()
        self.latent_grid.addItem("A vector", 0)
        for grid in SPATIAL_GRIDS:
            self.latent_grid.addItem(f"Spatial: channels on a {grid}×{grid} grid", grid)
        self.latent_dim = _spin(1, 4096, defaults.latent_dim)
        self.latent_channels = _spin(1, 64, 4)
        self.beta = QDoubleSpinBox(minimum=0.0, maximum=1000.0, value=defaults.beta,
                                   singleStep=0.1)
        self.free_bits = QDoubleSpinBox(minimum=0.0, maximum=100.0, value=defaults.free_bits,
                                        singleStep=0.5)
        self.codebook_size = _spin(2, 65_536, defaults.codebook_size)
        self.code_dim = _spin(1, 4096, defaults.code_dim)
        self.learning_rate = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=1.0,
                                            value=defaults.learning_rate, singleStep=1e-4)
        self.epochs = _spin(0, 100_000, defaults.epochs or 0)
        self.epochs.setSpecialValueText("Auto (1,200 to 2,700 steps)")
        self.batch_size = _spin(1, 4096, defaults.batch_size)
        self.seed = _spin(0, 2**31 - 1, defaults.seed)
        self._inputs = (self.output, browse, self.size, self.family, self.latent_grid,
                        self.latent_dim, self.latent_channels, self.beta, self.free_bits,
                        self.codebook_size, self.code_dim, self.learning_rate, self.epochs,
                        self.batch_size, self.seed)

        form = QFormLayout()
        form.addRow("Video:", QLabel(str(video)))
        form.addRow("Save model as:", output_row)
        form.addRow("Family:", self.family)
        form.addRow("Frame size:", self.size)
        form.addRow("Latents:", self.latent_grid)
        form.addRow("Latent size:", self.latent_dim)
        form.addRow("Latent channels:", self.latent_channels)
        form.addRow("β (KL weight):", self.beta)
        form.addRow("Free bits (nats per latent):", self.free_bits)
        form.addRow("Codebook entries:", self.codebook_size)
        form.addRow("Code size (latents per code):", self.code_dim)
        self._form = form
        self.latent_grid.currentIndexChanged.connect(self._show_rows)
        self.family.currentIndexChanged.connect(self._show_rows)
        self.family.currentIndexChanged.connect(self._follow_family_in_name)
        self._show_rows()
        form.addRow("Learning rate (peak):", self.learning_rate)
        form.addRow("Epochs:", self.epochs)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Seed:", self.seed)

        self.loss_plot = _plot("Training loss", "loss per frame")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen(LOSS_COLOUR, width=1.5))
        self.psnr_plot = _plot("Held-out PSNR (★ the epoch kept)", "dB")
        self.psnr_plot.setXLink(self.loss_plot)
        self.psnr_curve = self.psnr_plot.plot(
            pen=pg.mkPen(PSNR_COLOUR, width=1.5), symbol="o", symbolSize=5,
            symbolBrush=PSNR_COLOUR, symbolPen=None)
        self.best_marker = pg.ScatterPlotItem(symbol="star", size=16, brush=BEST_COLOUR,
                                              pen=pg.mkPen("k"))
        self.psnr_plot.addItem(self.best_marker)
        text = pg.getConfigOption("foreground")  # the palette's (explorer.ui.app)
        self.baseline_line = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(text, width=1.5, style=Qt.PenStyle.DashLine),
            label="", labelOpts={"position": 0.02, "anchors": [(0, 1), (0, 1)],
                                 "color": text})
        self.baseline_line.setVisible(False)
        self.psnr_plot.addItem(self.baseline_line)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.psnr_plot)

        self.progress = QProgressBar()
        self.message = QLabel("Press Train to start.")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.train_button = QPushButton("Train")
        self.stop_button = QPushButton("Stop")
        choice = QDialogButtonBox()  # what to do once training ends, in the platform's order
        self.open_button = choice.addButton("Open the New Model",
                                            QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = choice.addButton(QDialogButtonBox.StandardButton.Close)
        buttons = QHBoxLayout()
        for button in (self.train_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(choice)
        self._buttons = (self.train_button, self.stop_button, self.open_button,
                         self.close_button)
        for button in self._buttons:
            button.setAutoDefault(False)  # Enter presses the default only (_show_stage)
        self.train_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.open_button.clicked.connect(self.accept)
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(plots, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._show_stage()

        worker.trainEvent.connect(self._on_event)
        worker.modelSaved.connect(self._on_saved)
        worker.jobFinished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)

    @property
    def running(self) -> bool:
        """Whether a training job started here has not finished yet."""
        return self._running

    def settings(self) -> TrainSettings:
        grid = self.latent_grid.currentData()
        return TrainSettings(
            image_size=self.size.currentData(),
            family=self.family.currentData(),
            latent_dim=self.latent_channels.value() * grid * grid if grid
            else self.latent_dim.value(),
            latent_grid=grid,
            beta=self.beta.value(),
            free_bits=self.free_bits.value(),
            codebook_size=self.codebook_size.value(),
            code_dim=self.code_dim.value(),
            learning_rate=self.learning_rate.value(),
            epochs=self.epochs.value() or None,
            batch_size=self.batch_size.value(),
            seed=self.seed.value(),
        )

    def _suggested_output(self, family: str) -> str:
        return str(self._folder / f"{self._video.stem}_{family}.safetensors")

    def _follow_family_in_name(self) -> None:
        """The suggested file name names the family, until the user names the file."""
        suggestions = {self._suggested_output(family) for _, family in FAMILIES}
        if self.output.text() in suggestions:
            self.output.setText(self._suggested_output(self.family.currentData()))

    def _show_rows(self) -> None:
        """A vector's size or a spatial grid's channels; the KL's settings for the VAE
        families, the codebook's for the VQ-VAE."""
        spatial = bool(self.latent_grid.currentData())
        family = self.family.currentData()
        self._form.setRowVisible(self.latent_dim, not spatial)
        self._form.setRowVisible(self.latent_channels, spatial)
        for row in (self.beta, self.free_bits):
            self._form.setRowVisible(row, family in ("vae", "vae-gan"))
        for row in (self.codebook_size, self.code_dim):
            self._form.setRowVisible(row, family == "vq-vae")

    def start(self) -> None:
        """Train with the settings shown (after asking before replacing a model file)."""
        output = Path(self.output.text()).expanduser()
        if output.exists():
            answer = QMessageBox.question(
                self, "Replace model?", f"{output.name} exists. Replace it?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._loss_x.clear()
        self._losses.clear()
        self._epochs.clear()
        self._baseline = self.saved_model = self._failure = None
        self.loss_curve.setData([], [])
        self.psnr_curve.setData([], [])
        self.best_marker.setData([], [])
        self.baseline_line.setVisible(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._running, self._stopping = True, False
        self.message.setText("Reading frames…")
        self._show_stage()
        self._worker.train(self._video, output, self.settings())

    def stop(self) -> None:
        """End training at the next step; the best epoch so far is saved."""
        if self._running and not self._stopping:
            self._stopping = True
            self._worker.cancel()  # not queued: the worker polls it between steps
            self.message.setText("Stopping…")
            self._show_stage()

    def reject(self) -> None:
        """Close (Esc, Close, Keep Current Model); while training, ask to stop it first."""
        if not self._running:
            super().reject()
        elif not self._stopping and self._ask_to_stop():
            self.stop()

    def _ask_to_stop(self) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Stop training?",
                          "Training is running. Stop it? The best epoch so far is saved, "
                          "and you can then open it or close.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Stop Training")
        box.button(QMessageBox.StandardButton.No).setText("Keep Training")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _show_stage(self) -> None:
        """Buttons and inputs for the stage: idle, training, or ended with a model saved.

        Enter presses Train when idle and Open the New Model once there is one; while
        training it presses nothing, so a stray Enter cannot stop a long run.
        """
        saved = self.saved_model is not None and not self._running
        for widget in self._inputs:
            widget.setEnabled(not self._running)
        self.train_button.setEnabled(not self._running)
        self.stop_button.setEnabled(self._running and not self._stopping)
        self.open_button.setVisible(saved)
        self.close_button.setText("Keep Current Model" if saved else "Close")
        for button in self._buttons:
            button.setDefault(False)
        default = self.open_button if saved else None if self._running else self.train_button
        if default is not None:
            default.setDefault(True)
            default.setFocus()

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model as", self.output.text(), "Models (*.safetensors)"
        )
        if path:
            self.output.setText(path if path.endswith(".safetensors") else f"{path}.safetensors")

    def _on_event(self, event: TrainEvent) -> None:
        if not self._running:
            return
        if isinstance(event, FramesRead):
            self.message.setText(f"Reading frames… {event.count}")
        elif isinstance(event, BaselineReady):
            self._baseline = event
            self.baseline_line.setValue(event.pca_psnr_db)
            self.baseline_line.setVisible(True)  # first: a hidden line's label is not set
            self.baseline_line.label.setFormat(
                f"PCA-{event.components} {event.pca_psnr_db:.1f} dB")
            self._fit_psnr_range()
            scored = ("held-out PSNR" if event.held_out else "PSNR on the training frames "
                      "(too few frames to hold any out)")
            self.message.setText(f"PCA-{event.components}, the figure to beat: "
                                 f"{event.pca_psnr_db:.1f} dB {scored}. Training…")
        elif isinstance(event, StepDone):
            self._loss_x.append(event.epoch - 1 + event.step / event.steps_per_epoch)
            self._losses.append(event.loss)
            self.progress.setRange(0, event.epochs * event.steps_per_epoch)
            self.progress.setValue(len(self._losses))
            if len(self._losses) % PLOT_EVERY_STEPS == 0 or len(self._losses) < PLOT_EVERY_STEPS:
                self._draw_loss()
        elif isinstance(event, EpochDone):
            self._epochs.append(event)
            self._draw_loss()
            self.psnr_curve.setData([e.epoch for e in self._epochs],
                                    [e.holdout_psnr for e in self._epochs])
            self.best_marker.setData([event.kept_epoch], [event.kept_psnr])
            self._fit_psnr_range()
            if not self._stopping:
                self.message.setText(
                    f"Epoch {event.epoch}/{event.epochs}: loss {event.loss:.1f}, "
                    f"{self._scored()} PSNR {event.holdout_psnr:.1f} dB "
                    f"(kept {event.kept_psnr:.1f} dB, {_kept_name(event.kept_epoch)})")

    def _fit_psnr_range(self) -> None:
        """Every epoch's PSNR and the baseline in view, with room for the baseline's label
        above it (an automatic range would put the line at the edge and clip its label)."""
        values = [e.holdout_psnr for e in self._epochs]
        if self._baseline is not None:
            values.append(self._baseline.pca_psnr_db)
        low, high = min(values), max(values)
        span = max(high - low, 1.0)
        self.psnr_plot.setYRange(low - 0.1 * span, high + 0.25 * span, padding=0)

    def _draw_loss(self) -> None:
        self.loss_curve.setData(np.asarray(self._loss_x), np.asarray(self._losses))

    def _on_saved(self, path: str) -> None:
        if self._running:
            self.saved_model = Path(path)

    def _on_failed(self, message: str) -> None:
        if self._running:
            self._failure = message

    def _on_finished(self, outcome: str) -> None:
        if not self._running or (outcome == "done" and self.saved_model is None):
            return  # not this training's end (it saves first): a job before it, an encode
        self._running = False
        self._draw_loss()
        if self.saved_model is not None:
            self.message.setText(self._summary())
        elif outcome == "failed":
            self.message.setText(f"Training failed: {self._failure or 'no reason given'}")
        else:
            self.message.setText("Stopped before the first epoch ended: no model was saved.")
        self._show_stage()

    def _summary(self) -> str:
        """The outcome in one line: the kept epoch's PSNR beside PCA's, and where it went."""
        last = self._epochs[-1]  # a model is saved after an epoch
        stopped = (f"Stopped after epoch {last.epoch}/{last.epochs}. "
                   if last.epoch < last.epochs else "")
        pca = (f", PCA-{self._baseline.components} {self._baseline.pca_psnr_db:.1f} dB"
               if self._baseline is not None else "")
        kept = (f"Best epoch {last.kept_epoch}/{last.epochs}" if last.kept_epoch
                else "No epoch beat the start (PCA)")
        return (f"{stopped}{kept}: {self._scored()} PSNR {last.kept_psnr:.1f} dB{pca}; "
                f"saved to {self.saved_model}")

    def _scored(self) -> str:
        held_out = self._baseline is None or self._baseline.held_out
        return "held-out" if held_out else "training-frame"


def _kept_name(epoch: int) -> str:
    return f"epoch {epoch}" if epoch else "the start"


def _plot(title: str, unit: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(title=title)
    plot.setLabel("left", unit)
    plot.setLabel("bottom", "epoch")
    plot.setMenuEnabled(False)
    plot.setMinimumSize(240, 200)
    return plot


def _spin(minimum: int, maximum: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setValue(value)
    return spin
