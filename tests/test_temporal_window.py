"""A video autoencoder (one latent step for several frames) in the window."""

import numpy as np
from PySide6.QtCore import QPointF

from explorer.demo import demo_frames
from tests.conftest import write_mjpg
from tests.gui_helpers import READY_MS, open_window
from tests.test_video_vaes import WAN, save


def test_a_wan_folder_opens_scrubs_and_decodes_at_the_probe(qtbot, tmp_path):
    folder = save(tmp_path / "wan", "AutoencoderKLWan", WAN)
    (folder / "explorer.json").write_text('{"frame_size": 32}')
    clip = write_mjpg(tmp_path / "clip.avi", demo_frames(17, 32))
    window = open_window(qtbot, video=clip, model=folder)
    with qtbot.waitSignal(window.ready, timeout=READY_MS):
        window.start()
    trajectory = window.state.trajectory
    assert trajectory.is_temporal and len(trajectory) == 5
    assert trajectory.frame_index.tolist() == [0, 1, 5, 9, 13]
    assert window.timeline.frame_count == 5 and window.latent_map.point_count == 5
    assert window.frames_label.text() == "5 latent steps"

    window.timeline.set_frame(3)  # the step covering frames 9–12
    qtbot.waitUntil(lambda: window.original_view.caption == "frame 9", timeout=30_000)
    assert window.timeline._label.text().startswith("step 3 / 4  ·  frames 9–12")
    assert window.reconstruction_view.frame.shape == (32, 32, 3)
    assert window.state.row_of_frame(11) == 3

    before = window.cursor_view.frame
    x, y = window.latent_map.point_position(2)
    window.latent_map.probe.setPos(QPointF(x + 0.05, y))
    qtbot.waitUntil(lambda: window.cursor_view.frame is not before
                    and window.cursor_view.caption.startswith("decoded at"), timeout=30_000)
    assert np.isfinite(window.state.probe).all()
    assert window.state.probe.shape == (int(np.prod(trajectory.latent_shape)),)
