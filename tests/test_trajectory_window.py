"""A trajectory opened in the window without encoding: with its video where that is, and
browsable without it (encoded on another machine, the video left behind)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from explorer.demo import demo_frames
from explorer.model.open import open_model
from explorer.paths import demo_model_path
from explorer.pipeline.decode import decode_row
from explorer.pipeline.encode import encode_video
from tests.conftest import write_mjpg
from tests.gui_helpers import ready_window
from tests.test_video_vaes import WAN, save


@pytest.fixture
def encoded(tmp_path):
    """A clip and its trajectory file, encoded by the demo model."""
    clip = write_mjpg(tmp_path / "clip.avi", demo_frames(12, 64))
    trajectory = encode_video(clip, open_model(demo_model_path()))
    return clip, trajectory.save(tmp_path / "clip.npz"), trajectory


def test_a_trajectory_whose_video_is_gone_is_browsed_without_it(qtbot, tmp_path, encoded):
    clip, saved, trajectory = encoded
    clip.unlink()
    window = ready_window(qtbot, video=saved)
    np.testing.assert_array_equal(window.state.trajectory.mu, trajectory.mu)
    assert window.latent_map.point_count == 12 and window.timeline.frame_count == 12
    assert window.original_view.frame is None
    assert window.original_view.message == "the video is not available"
    assert window.original_view.caption == "frame 0"
    vae = open_model(demo_model_path())
    np.testing.assert_array_equal(window.reconstruction_view.frame,
                                  decode_row(vae, trajectory, 0)[0])
    window.timeline.set_frame(5)
    qtbot.waitUntil(lambda: window.original_view.caption == "frame 5", timeout=30_000)
    np.testing.assert_array_equal(window.reconstruction_view.frame,
                                  decode_row(vae, trajectory, 5)[0])


def test_a_trajectory_shows_its_video_where_it_is(qtbot, encoded):
    clip, saved, _ = encoded
    window = ready_window(qtbot, video=saved)
    assert window.original_view.frame is not None and window.original_view.message is None
    assert window.video == clip.resolve()


def test_a_trajectory_another_model_cannot_decode_is_one_line(qtbot, tmp_path, encoded):
    _, saved, _ = encoded
    wan = save(tmp_path / "wan", "AutoencoderKLWan", WAN)
    (wan / "explorer.json").write_text('{"frame_size": 64}')
    window = ready_window(qtbot)  # the demo
    messages: list[str] = []
    window.show_error = lambda message, title="": messages.append(message)
    window.open_files(saved, wan)
    qtbot.waitUntil(lambda: bool(messages), timeout=60_000)
    assert messages[0].startswith(f"{saved} holds latents of shape")
    assert "encode the video with this model first" in messages[0]
    assert "\n" not in messages[0]


def test_the_command_line_opens_a_trajectory(tmp_path, run_cli, encoded):
    clip, saved, _ = encoded
    shutil.move(clip, tmp_path / "elsewhere.avi")
    shot = tmp_path / "shot.png"
    result = run_cli(saved, "--model", demo_model_path(), "--screenshot", shot, timeout=300)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000


def test_a_mapped_trajectory_is_browsed_as_a_read_one(qtbot, encoded, monkeypatch):
    """Latents mapped from the file (a large trajectory's) decode and project as read ones."""
    from explorer.latent import trajectory as module

    monkeypatch.setattr(module, "MAP_ABOVE_BYTES", 0)
    _, saved, trajectory = encoded
    window = ready_window(qtbot, video=saved)
    assert isinstance(window.state.trajectory.mu, np.memmap)
    assert window.latent_map.point_count == 12
    window.timeline.set_frame(7)
    qtbot.waitUntil(lambda: window.original_view.caption == "frame 7", timeout=30_000)
    vae = open_model(demo_model_path())
    np.testing.assert_array_equal(window.reconstruction_view.frame,
                                  decode_row(vae, trajectory, 7)[0])
