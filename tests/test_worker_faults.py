"""A model that raises, returns NaNs or the wrong shape, or runs out of GPU memory: the
message names the cause, previews work again once the model behaves, exports fail cleanly."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from explorer.model.files import load_model
from explorer.paths import demo_model_path, demo_video_path
from explorer.ui.main_window import MainWindow
from tests.gui_helpers import ready_window


class FaultyVAE:
    """The demo model, with a decode that misbehaves as ``fault`` says."""

    def __init__(self, vae) -> None:
        self._vae = vae
        self.fault: str | None = None

    def __getattr__(self, name):
        return getattr(self._vae, name)

    def decode(self, latents):
        frames = self._vae.decode(latents)
        if self.fault == "raise":
            raise RuntimeError("boom in the decoder")
        if self.fault == "nan":
            return np.full(frames.shape, np.nan, np.float32)
        if self.fault == "shape":
            return frames[:, :10]
        if self.fault == "oom":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return frames


@pytest.fixture
def faulty(qtbot):
    models = []

    def loader(path, device):
        models.append(FaultyVAE(load_model(path, device)))
        return models[-1]

    return ready_window(qtbot, model_loader=loader), models[0]


EXPECTED = {
    "raise": "the model failed while decoding: RuntimeError: boom in the decoder",
    "nan": "the model's decoder returned NaN or infinite values",
    "shape": "the model returned decoded frames of shape (1, 10, 64, 3); expected (1, 64, 64, 3)",
    "oom": "out of GPU memory while decoding",
}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_preview_faults_are_named_and_previews_recover(faulty, qtbot, fault):
    window, model = faulty
    model.fault = fault
    with qtbot.waitSignal(window.worker.failed, timeout=10_000) as failed:
        window.timeline.set_frame(20)
    assert EXPECTED[fault] in failed.args[0]
    assert "\n" not in failed.args[0]
    model.fault = None  # the user fixed it (another model, another device)
    with qtbot.waitSignal(window.worker.framePreviewReady, timeout=10_000):
        window.timeline.set_frame(21)
    qtbot.waitUntil(lambda: window.original_view._caption.text() == "frame 21", timeout=5_000)


def test_export_with_a_failing_model_fails_cleanly(faulty, qtbot, tmp_path):
    window, model = faulty
    for frame in (0, 100):
        window.timeline.set_frame(frame)
        window.add_current_frame_keyframe()
    model.fault = "raise"
    output = tmp_path / "clip.mp4"

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        dialog.output.setText(str(output))
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()

    messages: list[str] = []
    window.worker.failed.connect(messages.append)
    QTimer.singleShot(0, fill)
    with qtbot.waitSignal(window.worker.jobFinished, timeout=30_000,
                          check_params_cb=lambda outcome: outcome == "failed"):
        window.export_clip()  # previews may fail too: wait for the export job itself
    assert any("boom in the decoder" in message for message in messages)
    assert list(tmp_path.iterdir()) == [], "no clip and no temporary file left behind"


class ExitsWhenDescribed(FaultyVAE):
    """A model whose own code calls sys.exit() outside encode and decode."""

    def describe(self):
        raise SystemExit(3)


def test_a_model_calling_sys_exit_is_an_error_and_the_window_goes_on(qtbot):
    exiting = {"on": True}

    def loader(path, device):
        vae = load_model(path, device)
        return ExitsWhenDescribed(vae) if exiting["on"] else vae

    window = MainWindow(demo_video_path(), demo_model_path(), interactive=False,
                        model_loader=loader)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.worker.failed, timeout=120_000) as failed:
        window.start()
    expected = "the model tried to exit the program while it was in use (SystemExit: 3)"
    assert failed.args[0] == expected
    exiting["on"] = False
    with qtbot.waitSignal(window.ready, timeout=120_000):
        window.open_files(demo_video_path(), demo_model_path())
    assert window.state.trajectory is not None
