"""Training in the window (issue 19): the held-out PSNR curve beside the loss with the PCA
baseline, the final curves kept after training ends, and the choice of model; driven
through the dialog's real buttons and keys on a 40-frame clip, one or two epochs."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from explorer.model.files import read_model_metadata
from explorer.paths import demo_model_path
from explorer.ui.train_dialog import TrainDialog
from explorer.ui.worker import WorkerThread
from tests.gui_helpers import answer_next_dialog, ready_window

TRAIN_MS = 180_000  # a few epochs on 40 frames, on a CPU that others may share


@pytest.fixture
def worker():
    thread = WorkerThread()
    yield thread.worker
    thread.close()


def tiny(dialog: TrainDialog, output, epochs: int, batch_size: int = 16) -> None:
    """Settings that train in seconds: 4 latents, 64 px, the given epochs."""
    dialog.output.setText(str(output))
    dialog.latent_dim.setValue(4)
    dialog.epochs.setValue(epochs)
    dialog.batch_size.setValue(batch_size)


def shown_dialog(qtbot, worker, video, tmp_path) -> TrainDialog:
    dialog = TrainDialog(worker, video, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_psnr_curve_and_pca_line_stay_after_training_and_enter_opens_the_model(
        qtbot, worker, demo_clip, tmp_path):
    dialog = shown_dialog(qtbot, worker, demo_clip, tmp_path)
    output = tmp_path / "two.safetensors"
    tiny(dialog, output, epochs=2)
    assert dialog.train_button.isDefault() and not dialog.open_button.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter: Train
    assert dialog.running and not dialog.train_button.isEnabled()
    assert not dialog.epochs.isEnabled(), "the settings are locked while training"
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_MS)

    assert dialog.isVisible(), "the dialog stays open with the final curves"
    training = read_model_metadata(output)["training"]
    epochs, psnr = dialog.psnr_curve.getData()
    assert list(epochs) == [1, 2], "one point per epoch"
    best = training["best_epoch"]  # 0 when no epoch beat the untrained (PCA) start
    assert max(psnr) <= training["holdout_psnr_db"] + 1e-6
    assert best == 0 or psnr[best - 1] == pytest.approx(training["holdout_psnr_db"])
    assert dialog.baseline_line.isVisible()
    assert dialog.baseline_line.value() == pytest.approx(training["pca_psnr_db"])
    assert dialog.baseline_line.label.toPlainText() == f"PCA-4 {training['pca_psnr_db']:.1f} dB"
    marked_epoch, marked_psnr = dialog.best_marker.getData()
    assert list(marked_epoch) == [best]
    assert marked_psnr[0] == pytest.approx(training["holdout_psnr_db"])
    loss_x, _ = dialog.loss_curve.getData()
    assert loss_x[-1] == pytest.approx(2.0), "the loss curve is drawn to the end"
    kept = f"Best epoch {best}/2" if best else "No epoch beat the start (PCA)"
    assert dialog.message.text() == (
        f"{kept}: held-out PSNR {training['holdout_psnr_db']:.1f} dB, "
        f"PCA-4 {training['pca_psnr_db']:.1f} dB; saved to {output}")
    assert dialog.open_button.isVisible() and dialog.open_button.isDefault()
    assert dialog.close_button.text() == "Keep Current Model"
    assert dialog.saved_model == output

    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter now: Open the New Model
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Accepted


def test_closing_while_training_asks_to_stop_first_and_esc_closes_when_idle(
        qtbot, worker, demo_clip, tmp_path):
    dialog = shown_dialog(qtbot, worker, demo_clip, tmp_path)
    tiny(dialog, tmp_path / "stopped.safetensors", epochs=50, batch_size=1)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=TRAIN_MS)
    worker.jobFinished.emit("done")  # a job queued before it (an encode) ending
    assert dialog.running, "only the training's own end ends it"

    asked: list[str] = []
    answer_next_dialog(QMessageBox.StandardButton.No, asked)  # Keep Training
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # no default button while training
    qtbot.wait(200)
    assert asked == [] and dialog.running and dialog.message.text() != "Stopping…"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert asked and asked[0].startswith("Training is running. Stop it?")
    assert dialog.running and dialog.isVisible()

    answer_next_dialog(QMessageBox.StandardButton.Yes, asked)  # Stop Training
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 2 and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_MS)
    assert dialog.isVisible(), "stopping does not close the dialog"
    assert dialog.message.text().startswith("Stopped")
    assert "Traceback" not in dialog.message.text()

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # idle: Esc closes without asking
    assert len(asked) == 2
    assert not dialog.isVisible() and dialog.result() == QDialog.DialogCode.Rejected


def test_a_failed_training_says_why_in_one_line_and_offers_train_again(
        qtbot, worker, tmp_path):
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"not a video at all" * 100)
    dialog = shown_dialog(qtbot, worker, video, tmp_path)
    tiny(dialog, tmp_path / "never.safetensors", epochs=1)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_MS)

    text = dialog.message.text()
    assert text.startswith("Training failed: ") and len(text) > len("Training failed: ")
    assert "\n" not in text and "Traceback" not in text
    assert dialog.isVisible() and dialog.saved_model is None
    assert not dialog.open_button.isVisible() and dialog.close_button.text() == "Close"
    assert dialog.train_button.isEnabled() and dialog.train_button.isDefault()
    assert not (tmp_path / "never.safetensors").exists()


def train_in_window(window, qtbot, output, choice: str, family: str = "vae",
                    latent_dim: int = 4) -> dict:
    """Open File › Train Model, train one epoch into ``output`` and press ``choice``
    ("open" or "keep") once it ends; what the dialog showed then."""
    seen: dict = {}

    def drive() -> None:
        dialog = QApplication.activeModalWidget()
        try:
            assert isinstance(dialog, TrainDialog)
            tiny(dialog, output, epochs=1)
            dialog.family.setCurrentIndex(dialog.family.findData(family))
            dialog.latent_dim.setValue(latent_dim)
            qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_MS)
            epochs = dialog.psnr_curve.getData()[0]  # None when no epoch ended
            seen.update(visible=dialog.isVisible(), message=dialog.message.text(),
                        epochs=[] if epochs is None else list(epochs))
            button = dialog.open_button if choice == "open" else dialog.close_button
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        finally:
            if dialog is not None and dialog.isVisible():
                dialog.done(QDialog.DialogCode.Rejected)  # never leave the test waiting

    QTimer.singleShot(0, drive)
    window.train_model()
    return seen


def test_the_window_keeps_its_model_unless_the_new_one_is_opened(qtbot, demo_clip, tmp_path):
    window = ready_window(qtbot, video=demo_clip)
    opened: list[str] = []
    window.worker.opened.connect(lambda _video, model: opened.append(model))

    window.interactive = True  # where the window would show a failure in a message box
    boxes: list[str] = []
    answer_next_dialog(QMessageBox.StandardButton.Ok, boxes, timeout_ms=5_000)
    seen = train_in_window(window, qtbot, tmp_path / "none.safetensors", "keep",
                           family="vq-vae", latent_dim=5)  # codes of 4 cannot fill 5
    window.interactive = False
    assert seen["visible"] and seen["message"].startswith("Training failed: cannot train")
    assert boxes == [], "the dialog alone says why training failed"

    kept = tmp_path / "kept.safetensors"
    seen = train_in_window(window, qtbot, kept, "keep")
    assert seen["visible"] and seen["epochs"] == [1]
    assert re.match(r"(Best epoch 1/1|No epoch beat the start \(PCA\)): held-out PSNR ",
                    seen["message"]), seen["message"]
    assert kept.exists()
    qtbot.wait(2_000)  # time enough to open a model, had Keep asked for one
    assert opened == [] and window.model == demo_model_path()

    new = tmp_path / "new.safetensors"
    seen = train_in_window(window, qtbot, new, "open")
    assert seen["visible"] and seen["message"].endswith(f"saved to {new}")
    qtbot.waitUntil(lambda: window.model == new and opened == [str(new)], timeout=TRAIN_MS)


def test_the_dialog_offers_every_family_and_the_recipe_length(qtbot, worker, demo_clip,
                                                              tmp_path):
    from explorer.model.conv_vae import FAMILIES

    dialog = shown_dialog(qtbot, worker, demo_clip, tmp_path)
    offered = [dialog.family.itemData(i) for i in range(dialog.family.count())]
    assert offered == list(FAMILIES)
    assert dialog.epochs.text() == "Auto (1,200 to 2,700 steps)"
    assert dialog.settings().epochs is None, "Auto leaves the length to the recipe"
    dialog.epochs.setFocus()
    qtbot.keyClick(dialog.epochs, Qt.Key.Key_Up)
    assert dialog.settings().epochs == 1
    # the suggested file names the family, until the user names it
    assert dialog.output.text() == str(tmp_path / f"{demo_clip.stem}_vae.safetensors")
    dialog.family.setCurrentIndex(offered.index("vq-vae"))
    assert dialog.output.text() == str(tmp_path / f"{demo_clip.stem}_vq-vae.safetensors")
    dialog.output.setText(str(tmp_path / "mine.safetensors"))
    dialog.family.setCurrentIndex(offered.index("ae"))
    assert dialog.output.text() == str(tmp_path / "mine.safetensors")


def test_the_dialog_trains_spatial_latents(qtbot, worker, demo_clip, tmp_path):
    """Latents › Spatial: the channels replace the vector's size, and the model trained has
    image-shaped latents."""
    dialog = shown_dialog(qtbot, worker, demo_clip, tmp_path)
    output = tmp_path / "spatial.safetensors"
    tiny(dialog, output, epochs=1)
    assert dialog.latent_dim.isVisible() and not dialog.latent_channels.isVisible()
    dialog.latent_grid.setFocus()
    qtbot.keyClick(dialog.latent_grid, Qt.Key.Key_Down)  # the first grid: 8×8
    assert dialog.latent_channels.isVisible() and not dialog.latent_dim.isVisible()
    dialog.latent_channels.setValue(2)
    assert (dialog.settings().latent_dim, dialog.settings().latent_grid) == (128, 8)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_MS)
    architecture = read_model_metadata(output)["architecture"]
    assert (architecture["latent_grid"], architecture["latent_dim"]) == (8, 128)
    assert dialog.open_button.isVisible(), "a model was saved"


def test_the_dialog_sets_each_familys_own_options_and_the_learning_rate(qtbot, worker,
                                                                        demo_clip, tmp_path):
    """β and free bits belong to the VAE families, the codebook to the VQ-VAE: each shows
    with its family, and what is set reaches the model trained."""
    dialog = shown_dialog(qtbot, worker, demo_clip, tmp_path)
    output = tmp_path / "vq.safetensors"
    tiny(dialog, output, epochs=1)
    codebook_rows = (dialog.codebook_size, dialog.code_dim)
    assert dialog.beta.isVisible() and dialog.free_bits.isVisible()
    assert not any(row.isVisible() for row in codebook_rows)
    dialog.family.setFocus()
    qtbot.keyClick(dialog.family, Qt.Key.Key_Down)  # the autoencoder: no KL
    assert dialog.family.currentData() == "ae" and not dialog.beta.isVisible()
    qtbot.keyClick(dialog.family, Qt.Key.Key_Down)
    assert dialog.family.currentData() == "vq-vae"
    assert all(row.isVisible() for row in codebook_rows) and not dialog.free_bits.isVisible()
    dialog.codebook_size.setValue(32)
    dialog.code_dim.setValue(2)
    dialog.learning_rate.selectAll()
    qtbot.keyClicks(dialog.learning_rate, "0.0002")
    assert dialog.settings().learning_rate == pytest.approx(2e-4)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_MS)
    metadata = read_model_metadata(output)
    architecture, settings = metadata["architecture"], metadata["training"]["settings"]
    assert (architecture["codebook_size"], architecture["code_dim"]) == (32, 2)
    assert settings["learning_rate"] == pytest.approx(2e-4) and settings["family"] == "vq-vae"
