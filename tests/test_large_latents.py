"""An image-latent model (4 × 32 × 32, like a small Stable Diffusion VAE) through the whole
app: encode, UMAP, drag, export."""

import av
import numpy as np
import pytest
from PySide6.QtCore import QPointF

from explorer.paths import demo_video_path
from explorer.pipeline.export import ClipRecipe, ExportSettings
from explorer.ui.main_window import MainWindow
from explorer.ui.worker import ExportClip
from tests.gui_helpers import choose_projection
from tests.test_byo_models import autoencoder_kl

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_image_latents_in_the_window(qtbot, tmp_path):
    folder = autoencoder_kl(tmp_path / "sd_like_vae", sample_size=64)
    window = MainWindow(demo_video_path(), folder, interactive=False)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=180_000):
        window.start()
    assert window.state.trajectory.latent_shape == (4, 32, 32)
    assert window.state.trajectory.mu.shape == (240, 4096)

    choose_projection(window, qtbot, "umap")

    before = window.cursor_view.frame
    x, y = window.latent_map.point_position(200)
    window.latent_map.probe.setPos(QPointF(x, y))
    qtbot.waitUntil(lambda: window.cursor_view.frame is not before, timeout=20_000)
    assert window.cursor_view.frame.shape == (64, 64, 3)
    assert window.state.probe.shape == (4096,)

    for frame in (10, 150):
        window.timeline.set_frame(frame)
        window.add_current_frame_keyframe()
    path = window.interpolation.path
    output = tmp_path / "clip.mp4"
    with qtbot.waitSignal(window.worker.clipExported, timeout=120_000):
        window.worker.export(ExportClip(ClipRecipe(path.latents), path.frames, str(output),
                                        ExportSettings(size=128)))
    with av.open(str(output)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == len(path.latents) and frames[0].shape == (128, 128, 3)
    assert np.isfinite(np.load(f"{output}.latents.npy")).all()
