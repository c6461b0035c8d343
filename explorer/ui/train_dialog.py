"""Train a built-in autoencoder (a β-VAE by default) on the open video, with a live loss
curve and a Stop button."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
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

from explorer.ui.worker import InferenceWorker

FAMILIES = (("β-VAE", "vae"), ("Autoencoder (deterministic)", "ae"),
            ("VQ-VAE (codebook)", "vq-vae"))


class TrainDialog(QDialog):
    """Collects training settings, runs the job on the worker and plots its progress."""

    def __init__(self, worker: InferenceWorker, video: Path, folder: Path,
                 parent: QWidget | None = None):
        """``folder`` is where the model is suggested to go."""
        super().__init__(parent)
        self.setWindowTitle(f"Train a model on {video.name}")
        self.resize(620, 560)
        self._worker, self._video = worker, video
        self._running = False
        self.saved_model: Path | None = None
        self._losses: list[float] = []

        self.output = QLineEdit(str(folder / f"{video.stem}_vae.safetensors"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output, 1)
        output_row.addWidget(browse)
        self.size = QComboBox()
        for size in (64, 128, 256):
            self.size.addItem(f"{size} px", size)
        from explorer.model.training import TrainSettings  # torch: the worker loaded it

        defaults = TrainSettings()  # the recipe's defaults, as explorer train's
        self.family = QComboBox()
        for label, family in FAMILIES:
            self.family.addItem(label, family)
        self.latent_dim = _spin(1, 4096, defaults.latent_dim)
        self.beta = QDoubleSpinBox(minimum=0.0, maximum=1000.0, value=defaults.beta,
                                   singleStep=0.1)
        self.epochs = _spin(1, 100_000, defaults.epochs)
        self.batch_size = _spin(1, 4096, defaults.batch_size)
        self.seed = _spin(0, 2**31 - 1, defaults.seed)

        form = QFormLayout()
        form.addRow("Video:", QLabel(str(video)))
        form.addRow("Save model as:", output_row)
        form.addRow("Family:", self.family)
        form.addRow("Frame size:", self.size)
        form.addRow("Latent size:", self.latent_dim)
        form.addRow("β (KL weight):", self.beta)
        form.addRow("Epochs:", self.epochs)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Seed:", self.seed)

        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setLabel("left", "loss per frame")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setMenuEnabled(False)
        self._loss_curve = self.loss_plot.plot(pen=pg.mkPen((90, 160, 255), width=1.5))
        self.progress = QProgressBar()
        self.message = QLabel("Press Train to start.")

        self._buttons = QDialogButtonBox()
        self.train_button = self._buttons.addButton("Train", QDialogButtonBox.ButtonRole.AcceptRole)
        self.stop_button = self._buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self._buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.stop_button.setEnabled(False)
        self.train_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(lambda: self._worker.cancel())  # not queued
        self.close_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self._buttons)

        worker.trainEvent.connect(self._on_event)
        worker.modelSaved.connect(self._on_saved)
        worker.jobFinished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)

    def settings(self):
        from explorer.model.training import TrainSettings

        return TrainSettings(
            image_size=self.size.currentData(),
            family=self.family.currentData(),
            latent_dim=self.latent_dim.value(),
            beta=self.beta.value(),
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            seed=self.seed.value(),
        )

    def start(self) -> None:
        output = Path(self.output.text()).expanduser()
        if output.exists():
            answer = QMessageBox.question(
                self, "Replace model?", f"{output.name} exists. Replace it?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._losses.clear()
        self._running = True
        self.train_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.message.setText("Reading frames…")
        self._worker.train(self._video, output, self.settings())

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model as", self.output.text(), "Models (*.safetensors)"
        )
        if path:
            self.output.setText(path if path.endswith(".safetensors") else f"{path}.safetensors")

    def _on_event(self, event) -> None:
        from explorer.model.training import EpochDone, FramesRead, StepDone

        if isinstance(event, FramesRead):
            self.message.setText(f"Reading frames… {event.count}")
        elif isinstance(event, StepDone):
            self._losses.append(event.loss)
            self.progress.setRange(0, event.epochs * event.steps_per_epoch)
            self.progress.setValue(len(self._losses))
            if len(self._losses) % 5 == 0 or len(self._losses) < 5:
                self._loss_curve.setData(np.asarray(self._losses))
        elif isinstance(event, EpochDone):
            self.message.setText(
                f"Epoch {event.epoch}/{event.epochs}: loss {event.loss:.1f}, "
                f"held-out PSNR {event.holdout_psnr:.1f} dB"
            )

    def _on_saved(self, path: str) -> None:
        self.saved_model = Path(path)
        self.message.setText(f"Saved {path}")

    def _on_finished(self, outcome: str) -> None:
        if not self._running:
            return
        self._running = False
        self.train_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if self.saved_model is not None:
            self.accept()

    def _on_failed(self, message: str) -> None:
        if self._running:
            self.message.setText(message)

    def reject(self) -> None:
        if self._running:
            self._worker.cancel()
        super().reject()


def _spin(minimum: int, maximum: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(minimum, maximum)
    spin.setValue(value)
    return spin
