"""Decoding a video autoencoder's latent steps: a row, a path in windows, and a clip.

A step decodes to the frames it covers only after a step of context (alone, a causal
model's step is a video's first step: one frame); a path decodes in windows that together
give the frames of the whole path; a clip of ``S`` steps has ``frames_for(S)`` frames, and
a side-by-side clip shows the video's frames in step with them.
"""

from __future__ import annotations

from dataclasses import replace

import av
import numpy as np
import pytest

from explorer.demo import demo_frames
from explorer.errors import ExplorerError
from explorer.latent.keyframes import keyframes_at_frames
from explorer.pipeline.decode import check_decodable, decode_path, decode_row, frames_per_step
from explorer.pipeline.encode import encode_video
from explorer.pipeline.export import ExportSettings, Originals, export_clip, shown_beside
from explorer.video.reader import open_video
from tests.conftest import write_mjpg
from tests.factories import make_vae
from tests.test_diffusers_families import save_tiny
from tests.test_video_vaes import COGVIDEOX, LTX, WAN, save


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_mjpg(tmp_path_factory.mktemp("clips") / "clip15.avi", demo_frames(15, 32))


@pytest.fixture(scope="module")
def trajectory(wan, clip):
    return encode_video(clip, wan)  # 5 steps; the last covers frames 13 and 14 only


def decoded_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_a_row_decodes_to_the_frames_it_covers(wan, clip, trajectory):
    latents = trajectory.latents()
    assert trajectory.last_frame.tolist() == [0, 4, 8, 12, 14]
    np.testing.assert_array_equal(decode_row(wan, trajectory, 0), wan.decode_steps(latents[:1]))
    np.testing.assert_array_equal(decode_row(wan, trajectory, 2),
                                  wan.decode_steps(latents[1:3])[-4:])
    np.testing.assert_array_equal(decode_row(wan, trajectory, 4, context=2),
                                  wan.decode_steps(latents[2:5])[-4:-2])
    per_frame = make_vae()  # 64 px: frames are fitted
    frames = encode_video(clip, per_frame)
    np.testing.assert_array_equal(decode_row(per_frame, frames, 3),
                                  per_frame.decode(frames.latents(slice(3, 4))))


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 9])
def test_a_path_decodes_in_windows_into_the_frames_of_its_steps(wan, trajectory, batch):
    latents = trajectory.latents()
    pieces = list(decode_path(wan, latents, batch))
    steps = np.concatenate([step for step, _ in pieces])
    frames = np.concatenate([frames for _, frames in pieces])
    assert len(frames) == wan.frames_for(5) == 17 and frames.dtype == np.uint8
    assert steps.tolist() == [0] + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4
    assert frames_per_step(wan, 5).tolist() == [1, 4, 4, 4, 4]
    whole = wan.decode_steps(latents)
    np.testing.assert_array_equal(frames[: wan.frames_for(batch)], whole[: wan.frames_for(batch)])
    for start in range(batch, 5, batch):  # each later window: after one step of context
        first = wan.frames_for(start)
        expected = wan.decode_steps(latents[start - 1 : start + batch])[1:]
        np.testing.assert_array_equal(frames[first : first + len(expected)], expected)


def test_a_per_frame_model_decodes_a_path_a_frame_a_latent(clip):
    vae = make_vae()
    latents = encode_video(clip, vae).latents()
    pieces = list(decode_path(vae, latents, 4))
    assert [len(frames) for _, frames in pieces] == [4, 4, 4, 3]
    np.testing.assert_array_equal(np.concatenate([s for s, _ in pieces]), np.arange(15))


def test_beside_each_frame_of_a_step_is_the_video_frame_it_stands_for(wan, clip, trajectory):
    own = trajectory.latents()[[0, 2, 4, 1]]  # the video's own steps, in another order
    exact = [0, 5, None, None]  # the first two as keyframes
    shown = shown_beside(wan, own, trajectory, exact)
    # the last step covers frames 13 and 14 only: its frame 13 stands for the first three
    assert [s.frame for s in shown] == [0, 5, 6, 7, 8, 13, 13, 13, 14, 1, 2, 3, 4]
    assert [s.exact for s in shown] == [True] * 5 + [False] * 8
    # the lone first step of a path beside a step of four frames: that step's last
    shown = shown_beside(wan, trajectory.latents()[[2, 0]], trajectory)
    assert [s.frame for s in shown] == [8, 0, 0, 0, 0]
    per_frame = make_vae()
    frames = encode_video(clip, per_frame)
    shown = shown_beside(per_frame, frames.latents()[[3, 7]], frames)
    assert [(s.frame, s.exact) for s in shown] == [(3, False), (7, False)]


def test_a_side_by_side_ping_pong_clip_of_steps(tmp_path, wan, clip, trajectory):
    latents = trajectory.latents()[:3]  # frames 0–8
    shown = shown_beside(wan, latents, trajectory, [0, 1, 5])
    settings = ExportSettings(fps=10, side_by_side=True, ping_pong=True, batch_size=4)
    with open_video(clip) as reader:
        read = []
        written = export_clip(latents, wan, tmp_path / "sbs.mp4", settings,
                              Originals(shown, lambda f: read.append(f) or reader.frame(f)))
    frames = decoded_frames(written)
    assert len(frames) == 2 * 9 - 2 and frames[0].shape == (32, 64, 3)
    assert read == list(range(9)), "each video frame is read once, in order"
    with pytest.raises(ExplorerError, match="a video frame beside each of the clip"):
        export_clip(latents, wan, tmp_path / "short.mp4", settings, Originals(shown[:3], None))


@pytest.mark.parametrize("class_name, config, steps", [
    ("AutoencoderKLWan", WAN, 3),  # 9 frames: 1 + 2 × 4
    ("AutoencoderKLCogVideoX", COGVIDEOX, 3),
    ("AutoencoderKLLTXVideo", LTX, 2),  # 1 + 8
    ("VQModel", None, 9),  # one latent a frame
    ("AutoencoderTiny", None, 9),
])
def test_export_command_interpolates_every_kind_into_a_clip(tmp_path, run_cli, class_name,
                                                            config, steps):
    if config is None:
        folder = save_tiny(tmp_path / "vae", class_name)
    else:
        folder = save(tmp_path / "vae", class_name, config)
        (folder / "explorer.json").write_text('{"frame_size": 32}')
    video = write_mjpg(tmp_path / "clip.avi", demo_frames(17, 32))
    output = tmp_path / "out.mp4"
    result = run_cli("export", "--model", folder, "--video", video, "--keyframes", "0,10",
                     "--steps", "9", "--side-by-side", "-o", output, timeout=300)
    assert result.returncode == 0, result.stderr
    frames = decoded_frames(output)
    assert len(frames) == 9 and frames[0].shape[1] == 2 * frames[0].shape[0]
    assert np.load(tmp_path / "out.mp4.latents.npy").shape[0] == steps
    assert "wrote" in result.stdout and "9 frames" in result.stdout


def test_keyframes_at_frames_inside_a_step_pick_that_step(trajectory):
    keyframes = keyframes_at_frames(trajectory, [0, 6, 14])
    assert [k.frame for k in keyframes] == [0, 5, 13]
    np.testing.assert_array_equal(keyframes[1].latent, trajectory.mu[2])
    with pytest.raises(ExplorerError, match=r"frame 15 is not in the trajectory .*5 latent steps"):
        keyframes_at_frames(trajectory, [15])


def test_a_trajectory_opens_only_with_a_model_that_decodes_its_rows(wan, trajectory):
    check_decodable(trajectory, wan, "t.npz", "wan")  # its own model
    with pytest.raises(ExplorerError, match=r"t.npz holds latents of shape \(4, 8, 8\) but "
                                            r"demo makes \(16,\); encode the video"):
        check_decodable(trajectory, make_vae(latent_dim=16), "t.npz", "demo")
    per_frame = replace(trajectory, last_frame=None,
                        meta={k: v for k, v in trajectory.meta.items() if k != "temporal"})
    with pytest.raises(ExplorerError, match=r"t.npz holds one latent a frame, but wan makes "
                                            r"latent steps \(1 \+ 4k frames"):
        check_decodable(per_frame, wan, "t.npz", "wan")
