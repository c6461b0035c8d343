"""Issue 21: a side-by-side clip always shows a real frame, labelled; the counter counts
the clip's frames up, on a backing that reads on light pictures; one default size."""

import cv2
import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer.latent.keyframes import clip_path, keyframes_at_frames
from explorer.latent.trajectory import Trajectory
from explorer.model.files import load_model
from explorer.paths import demo_model_path
from explorer.pipeline import export as export_module
from explorer.pipeline.encode import encode_video
from explorer.pipeline.export import (
    ExportSettings,
    Originals,
    ShownFrame,
    draw_label,
    export_clip,
    nearest_frames,
    original_panel,
)
from explorer.state.settings import ExportChoices
from explorer.video.reader import open_video

BELOW_THE_LABEL = slice(20, None)
"""Rows of a 64 px original panel under its frame label."""


@pytest.fixture(scope="module")
def vae():
    return load_model(demo_model_path())


def png_frames(folder):
    return [cv2.imread(str(f))[..., ::-1] for f in sorted(folder.glob("*.png"))]


def check_left_halves(frames, expected):
    """Each frame's left half is a picture, and exactly the labelled original expected."""
    for frame, original in zip(frames, expected, strict=True):
        left = frame[:, :64]
        picture = left[BELOW_THE_LABEL].reshape(-1, 3)
        assert picture.std(axis=0).max() > 10, "the left half is never one colour"
        np.testing.assert_array_equal(left, original)


def test_nearest_frames_keep_keyframes_and_pick_the_nearest_frame_between():
    frame_index = np.array([0, 5, 10, 15])
    mu = np.array([[0, 0], [1, 0], [2, 0], [3, 0]], np.float32).reshape(4, 2, 1)
    path = np.array([[0, 0], [0.4, 0.3], [0.6, 0], [1.9, -0.2], [2.6, 0.1], [3, 0]])
    shown = nearest_frames(path, mu, frame_index, exact=[0, None, None, None, None, 15])
    assert shown == [ShownFrame(0, True), ShownFrame(0, False), ShownFrame(5, False),
                     ShownFrame(10, False), ShownFrame(15, False), ShownFrame(15, True)]
    assert [s.label for s in shown[:2]] == ["frame 0", "~ frame 0"]


def test_a_keyframe_shows_itself_even_where_another_frame_has_its_latent():
    frame_index = np.array([0, 5, 10, 15])
    mu = np.array([[0, 0], [1, 0], [2, 0], [0, 0]], np.float32)  # frames 0 and 15 alike
    path = np.array([[1, 0], [0.5, 0.1], [0, 0]], np.float32)
    assert nearest_frames(path, mu, frame_index, exact=[5, None, 15])[-1] == ShownFrame(15, True)
    assert nearest_frames(path, mu, frame_index)[-1] == ShownFrame(0, False), "earliest of equals"


@pytest.mark.parametrize("block", [1, 7, 100, 1 << 22])
def test_nearest_frames_in_blocks_match_all_distances_at_once(monkeypatch, block):
    monkeypatch.setattr(export_module, "NEAREST_BLOCK_VALUES", block)
    rng = np.random.default_rng(3)
    mu = rng.standard_normal((500, 6)).astype(np.float32)
    path = rng.standard_normal((30, 6)).astype(np.float32)
    frame_index = np.arange(500) * 2 + 1
    everything = np.linalg.norm(path[:, None, :] - mu[None, :, :], axis=2)
    expected = frame_index[np.argmin(everything, axis=1)]
    assert [s.frame for s in nearest_frames(path, mu, frame_index)] == list(expected)


def test_nearest_frames_refuse_a_mismatched_trajectory():
    with pytest.raises(ExplorerError, match="numbers a step"):
        nearest_frames(np.zeros((3, 4)), np.zeros((5, 6)), np.arange(5))
    with pytest.raises(ExplorerError, match="frame numbers"):
        nearest_frames(np.zeros((3, 4)), np.zeros((5, 4)), np.arange(4))


def test_side_by_side_of_a_drawn_path_shows_the_nearest_frame_throughout(
    tmp_path, vae, demo_clip
):
    trajectory = encode_video(demo_clip, vae)
    drawn = (trajectory.mu[0:36:2] + trajectory.mu[3:39:2]) / 2  # between frames, never on one
    shown = nearest_frames(drawn, trajectory.mu, trajectory.frame_index)
    assert not any(s.exact for s in shown) and len({s.frame for s in shown}) > 5
    with open_video(demo_clip) as reader:
        export_clip(drawn, vae, f"{tmp_path}/clip/", ExportSettings(side_by_side=True),
                    Originals(shown, reader.frame))
        expected = [original_panel(reader.frame(s.frame), s, (64, 64)) for s in shown]
    frames = png_frames(tmp_path / "clip")
    assert len(frames) == len(drawn) and frames[0].shape == (64, 128, 3)
    check_left_halves(frames, expected)


def test_side_by_side_needs_a_video_frame_beside_every_frame(tmp_path, vae):
    latents = np.zeros((3, 16), np.float32)
    with pytest.raises(ExplorerError, match="a video frame beside each of the clip"):
        export_clip(latents, vae, tmp_path / "x.mp4", ExportSettings(side_by_side=True))
    assert not (tmp_path / "x.mp4").exists()


def test_the_command_shows_keyframes_and_the_nearest_frames_between(tmp_path, run_cli, demo_clip):
    model = demo_model_path()
    trajectory_file = tmp_path / "t.npz"
    assert run_cli("encode", demo_clip, "--model", model, "-o", trajectory_file).returncode == 0
    result = run_cli("export", "--model", model, "--trajectory", trajectory_file,
                     "--keyframes", "0,20", "--steps", "10", "--size", "64", "--side-by-side",
                     "-o", f"{tmp_path}/clip/")
    assert result.returncode == 0, result.stderr
    trajectory = Trajectory.load(trajectory_file)
    path = clip_path(keyframes_at_frames(trajectory, [0, 20]), 10)
    shown = nearest_frames(path.latents, trajectory.mu, trajectory.frame_index, path.frames)
    assert shown[0] == ShownFrame(0, True) and shown[-1] == ShownFrame(20, True)
    assert not any(s.exact for s in shown[1:-1]), "between keyframes: the nearest frames"
    frames = png_frames(tmp_path / "clip")
    assert len(frames) == 10
    with open_video(demo_clip) as reader:
        expected = [original_panel(reader.frame(s.frame), s, (64, 64)) for s in shown]
    check_left_halves(frames, expected)


def test_latents_alone_refuse_side_by_side_before_loading_anything(tmp_path, run_cli):
    latents = tmp_path / "path.npy"
    np.save(latents, np.zeros((4, 16), np.float32))
    result = run_cli("export", "--model", demo_model_path(), "--latents", latents,
                     "--side-by-side", "-o", tmp_path / "x.mp4")
    assert result.returncode == 1
    assert "--side-by-side needs --video or --trajectory" in result.stderr
    assert not (tmp_path / "x.mp4").exists()


class PlainVAE:
    """Decodes everything to one grey picture, so a frame differs only by its counter."""

    frame_size = (64, 64)
    latent_shape = (4,)
    picture = np.full((64, 64, 3), 128, np.uint8)

    def decode(self, latents):
        return np.repeat(self.picture[None], len(latents), axis=0)


def test_the_ping_pong_counter_counts_the_clips_frames_up(tmp_path):
    export_clip(np.zeros((5, 4), np.float32), PlainVAE(), f"{tmp_path}/frames/",
                ExportSettings(frame_counter=True, ping_pong=True, batch_size=2))
    frames = png_frames(tmp_path / "frames")
    assert len(frames) == 8
    for number, frame in enumerate(frames, start=1):
        np.testing.assert_array_equal(frame, draw_label(PlainVAE.picture, f"{number}/8"))


def test_the_counter_has_a_dark_backing_that_reads_on_white():
    white = np.full((256, 256, 3), 255, np.uint8)
    labelled = draw_label(white, "12/48")
    rows, columns = np.nonzero((labelled != 255).any(axis=2))
    assert rows.min() > 200 and columns.min() < 20, "in the bottom-left corner"
    box = labelled[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    assert np.median(box) < 160, "a dark box behind the text, not just dark edges"
    assert box.max() == 255, "the text itself stays white"
    top = draw_label(white, "frame 3", at_top=True)
    assert np.nonzero((top != 255).any(axis=2))[0].max() < 56, "at_top: in the top rows"


def test_a_label_is_narrowed_to_fit_a_small_panel():
    panel = np.full((64, 64, 3), 255, np.uint8)
    labelled = draw_label(panel, ShownFrame(1234567, exact=False).label, at_top=True)
    columns = np.nonzero((labelled != 255).any(axis=2))[1]
    assert columns.max() < 62, "the whole label is inside the panel, not cut at its edge"


def test_the_command_exports_at_the_windows_default_size(tmp_path, run_cli):
    latents = tmp_path / "path.npy"
    np.save(latents, np.zeros((3, 16), np.float32))
    result = run_cli("export", "--model", demo_model_path(), "--latents", latents,
                     "-o", f"{tmp_path}/clip/")
    assert result.returncode == 0, result.stderr
    frames = png_frames(tmp_path / "clip")
    assert len(frames) == 3
    assert max(frames[0].shape[:2]) == ExportChoices().size == 256
