"""Temporal trajectories: a video autoencoder's rows are latent steps covering several frames.

The model is a tiny random Wan autoencoder (the builders of ``test_video_vaes``), saved
into a folder and opened through ``open_model``, the path the CLI and the window take.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from explorer.demo import demo_frames
from explorer.errors import Cancelled, ExplorerError, ModelFileError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.model import guard
from explorer.model.contract import is_temporal
from explorer.model.identity import model_identity
from explorer.model.open import open_model
from explorer.model.video_vae.rule import FrameRule, WindowPlanner
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.encode import (
    Selection,
    Windowing,
    encode_video,
    encode_with_cache,
)
from explorer.video.reader import open_video
from tests.conftest import write_mjpg
from tests.factories import make_vae

FIRST_THEN_4 = [[0, 0], [1, 4], [5, 8], [9, 12], [13, 16]]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {count: write_mjpg(folder / f"clip{count}.avi", demo_frames(count, 32))
            for count in (15, 17, 60)}


def frames_of(clip) -> np.ndarray:
    with open_video(clip) as reader:
        return np.stack([frame for _, frame in reader.frames()])


def one_line_error(error_type, call, *args, **kwargs) -> str:
    with pytest.raises(error_type) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


# --- opening --------------------------------------------------------------------------------


def test_a_video_autoencoder_folder_opens_as_data_with_its_settings(wan_folder, wan):
    assert is_temporal(wan) and not is_temporal(make_vae())
    facts = wan.describe()
    assert facts["kind"] == "diffusers AutoencoderKLWan"
    assert wan.frame_size == (32, 32)  # from explorer.json; the config says nothing
    assert facts["tiling"] is False and facts["window_steps"] == 21

    (wan_folder / "explorer.json").write_text('{"frame_size": [48, 64], "tiling": true}')
    try:
        tiled = open_model(wan_folder, device="cpu")
        assert tiled.frame_size == (48, 64) and tiled.describe()["tiling"] is True
        (wan_folder / "explorer.json").write_text('{"frame_size": 32, "quantize": false}')
        message = one_line_error(ModelFileError, open_model, wan_folder, device="cpu")
        assert "quantize: unknown field" in message and "tiling" in message
    finally:
        (wan_folder / "explorer.json").write_text('{"frame_size": 32}')


# --- encoding -------------------------------------------------------------------------------


def test_17_frames_make_5_steps_covering_them(wan, clips):
    progress = []
    trajectory = encode_video(clips[17], wan, on_progress=progress.append)
    assert trajectory.is_temporal and len(trajectory) == 5
    assert trajectory.frame_index.tolist() == [0, 1, 5, 9, 13]
    assert trajectory.last_frame.tolist() == [0, 4, 8, 12, 16]
    np.testing.assert_allclose(trajectory.time_s, trajectory.frame_index / 24.0)
    mu, logvar = wan.encode_clip(frames_of(clips[17]))
    np.testing.assert_allclose(trajectory.mu, mu.reshape(5, -1), atol=1e-6)
    np.testing.assert_allclose(trajectory.logvar, logvar.reshape(5, -1), atol=1e-6)
    assert trajectory.latent_shape == (4, 8, 8)
    assert trajectory.meta["temporal"] == {
        "stride": 4, "causal_first_frame": True, "rule": wan.rule.describe(),
        "window_steps": 21, "context_steps": 1, "windows": [[0, 0]],
    }
    assert [p.done for p in progress] == [17] and progress[0].mu.shape == (5, 256)


def test_a_long_video_is_encoded_window_by_window(wan, clips):
    """60 frames, 16 steps, in windows of 4 steps with 1 of context: every frame covered
    once, as the rule says; each window's clip is bounded, whatever the video's length."""
    rule, windowing = wan.rule, Windowing(steps=4, context=1)
    lengths = []

    class Recording:  # the model, recording the clips it is given
        def __getattr__(self, name):
            return getattr(wan, name)

        def encode_clip(self, frames):
            lengths.append(len(frames))
            return wan.encode_clip(frames)

    recording = Recording()
    assert is_temporal(recording)
    progress = []
    trajectory = encode_video(clips[60], recording, windowing=windowing,
                              on_progress=progress.append)
    spans = rule.step_frames(60)
    assert len(trajectory) == 16
    np.testing.assert_array_equal(trajectory.frame_index, spans[:, 0])
    np.testing.assert_array_equal(trajectory.last_frame, spans[:, 1])
    covered = np.concatenate([np.arange(a, b + 1) for a, b in spans])
    np.testing.assert_array_equal(covered, np.arange(60))

    windows = rule.windows(60, 4, 1)
    assert len(windows) == 4
    assert trajectory.meta["temporal"]["windows"] == [[w.first_step, w.start] for w in windows]
    assert lengths == [w.stop - w.start for w in windows] and max(lengths) <= 21
    assert [p.done for p in progress] == [13, 29, 45, 60]
    assert [len(p.mu) for p in progress] == [4, 4, 4, 4]

    frames = frames_of(clips[60])
    for window in windows:  # each window's kept steps: its clip encoded, context dropped
        mu, _ = wan.encode_clip(frames[window.start:window.stop])
        rows = slice(window.first_step, window.first_step + 4)
        np.testing.assert_allclose(trajectory.mu[rows], mu[window.skip:].reshape(4, -1),
                                   atol=1e-6)


@pytest.mark.parametrize("rule", [FrameRule(4, True), FrameRule(8, True), FrameRule(1, False),
                                  FrameRule(3, False)])
@pytest.mark.parametrize("frames", [1, 2, 5, 17, 30, 33, 60])
@pytest.mark.parametrize(("steps", "context"), [(1, 0), (3, 1), (4, 9)])
def test_windows_planned_as_frames_arrive_are_the_rules(rule, frames, steps, context):
    """Frames arriving in uneven pieces, their number unknown until the stream ends."""
    planner = WindowPlanner(rule, steps, context)
    planned, arrived, needed = [], 0, []
    for piece in np.random.default_rng(frames).integers(1, 7, 100):
        arrived = min(frames, arrived + int(piece))
        while (window := planner.next_window(arrived)) is not None:
            planned.append(window)
            assert window.stop <= arrived
            needed.append(planner.needed_from)
        if arrived == frames:
            break
    while (window := planner.next_window(arrived, finished=True)) is not None:
        planned.append(window)
    assert planned == rule.windows(frames, steps, context)
    # Frames before needed_from are never asked for again.
    assert all(later.start >= mark for mark, later in zip(needed, planned[1:], strict=False))


def test_a_range_of_frames_and_the_stride(wan, clips):
    trajectory = encode_video(clips[17], wan, Selection(start=3, max_frames=9))
    assert trajectory.frame_index.tolist() == [3, 4, 8]
    assert trajectory.last_frame.tolist() == [3, 7, 11]
    message = one_line_error(ExplorerError, encode_video, clips[17], wan, Selection(stride=2))
    assert "stride must be 1, not 2" in message
    with pytest.raises(ExplorerError, match="no frames"):
        encode_video(clips[17], wan, Selection(start=100))


def test_cancel_stops_between_windows(wan, clips):
    seen = []
    with pytest.raises(Cancelled):
        encode_video(clips[60], wan, windowing=Windowing(4), on_progress=seen.append,
                     should_stop=lambda: len(seen) >= 1)
    assert len(seen) == 1


def test_reconstruction_error_is_measured_per_step(wan, clips):
    """A step's PSNR is over the frames it covers, decoded with its window."""
    trajectory = encode_video(clips[17], wan, Selection(measure_error=True))
    frames = frames_of(clips[17])
    decoded = wan.decode_steps(trajectory.latents())
    errors = ((frames.astype(np.float32) - decoded) ** 2).reshape(17, -1).mean(axis=1)
    expected = [10 * np.log10(255.0**2 / errors[a : b + 1].mean()) for a, b in FIRST_THEN_4]
    np.testing.assert_allclose(trajectory.psnr_db, expected, rtol=1e-5)


# --- the trajectory -------------------------------------------------------------------------


def test_the_trajectory_file_keeps_what_each_step_covers(tmp_path, wan, clips):
    trajectory = encode_video(clips[17], wan)
    loaded = Trajectory.load(trajectory.save(tmp_path / "t.npz"))
    assert loaded.is_temporal and loaded.meta == trajectory.meta
    np.testing.assert_array_equal(loaded.last_frame, trajectory.last_frame)
    assert loaded.last_frame.dtype == np.int64
    assert loaded.frames_of(0) == (0, 0) and loaded.frames_of(2) == (5, 8)
    assert [loaded.row_of_frame(f) for f in (0, 1, 4, 5, 16)] == [0, 1, 1, 2, 4]
    assert loaded.row_of_frame(17) is None and loaded.row_of_frame(-1) is None
    assert [loaded.frame_at(2, w) for w in (-1, 0, 3, 9)] == [5, 5, 8, 8]  # kept in the step
    assert set(loaded.arrays()) == {"mu", "logvar", "frame_index", "time_s", "last_frame"}


def test_a_session_keeps_what_each_step_covers(tmp_path, wan, clips):
    from explorer.session.document import Session, load_session, save_session

    trajectory = encode_video(clips[17], wan)
    session = Session("v.avi", "fingerprint", "wan", "sha", trajectory, current_frame=4)
    loaded = load_session(save_session(session, tmp_path / "s.lxsession")).trajectory
    np.testing.assert_array_equal(loaded.last_frame, trajectory.last_frame)
    assert loaded.meta["temporal"] == trajectory.meta["temporal"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"last_frame": [0, 5, 8, 12, 16]}, "last_frame: each row must cover"),  # overlaps
        ({"last_frame": [0, 4, 3, 12, 16]}, "last_frame: each row must cover"),  # decreasing
        ({"last_frame": [0, 4, 8, 12, 12]}, "last_frame: each row must cover"),  # before its first
        ({"last_frame": [0, 4, 8, 12, 2**60]}, "last_frame: each row must cover"),
        ({"last_frame": None}, "come together"),
        ({"temporal": None}, "come together"),
        ({"temporal": {"stride": 0}}, "meta.temporal.stride"),
        ({"temporal": {"windows": [[0]]}}, "meta.temporal.windows.0"),
        ({"temporal": {"windows": [[0, -1]]}}, "meta.temporal.windows.0.1"),
        ({"temporal": {"windows": "all"}}, "meta.temporal.windows"),
    ],
)
def test_a_hostile_temporal_trajectory_is_refused_in_one_line(tmp_path, wan, clips, change,
                                                              complaint):
    good = encode_video(clips[17], wan).save(tmp_path / "good.npz")
    with np.load(good) as npz:
        arrays = dict(npz)
    meta = json.loads(str(arrays["meta"]))
    if "last_frame" in change:
        arrays.pop("last_frame")
        if change["last_frame"] is not None:
            arrays["last_frame"] = np.array(change["last_frame"], np.int64)
    elif change["temporal"] is None:
        del meta["temporal"]
    else:
        meta["temporal"] = {**meta["temporal"], **change["temporal"]}
    arrays["meta"] = np.array(json.dumps(meta))
    hostile = tmp_path / "hostile.npz"
    np.savez(hostile, **arrays)
    assert complaint in one_line_error(ExplorerError, Trajectory.load, hostile)


def test_a_per_frame_trajectory_is_unchanged(tmp_path, clips):
    """No last_frame, no temporal meta, and the cache key is the one it always was."""
    from explorer.paths import demo_model_path

    model = demo_model_path()
    vae = open_model(model, device="cpu")
    cache = TrajectoryCache(tmp_path / "cache")
    selection = Selection(stride=2)
    trajectory, _ = encode_with_cache(clips[17], model, vae, selection, cache=cache)
    assert not trajectory.is_temporal and trajectory.last_frame is None
    assert "temporal" not in trajectory.meta
    settings = {**asdict(selection), "fit_mode": vae.fit_mode,
                "frame_size": list(vae.frame_size), "latent_shape": list(vae.latent_shape)}
    key = TrajectoryCache.key(file_fingerprint(clips[17]), model_identity(model), settings)
    assert [p.name for p in cache.folder.iterdir()] == [f"{key}.npz"]
    with np.load(cache.path_for(key)) as npz:
        assert "last_frame" not in npz.files
    assert trajectory.frames_of(3) == (6, 6)
    assert trajectory.row_of_frame(6) == 3 and trajectory.row_of_frame(7) is None
    assert set(trajectory.arrays()) == {"mu", "logvar", "frame_index", "time_s"}


def test_the_cache_key_holds_the_windows(tmp_path, wan_folder, wan, clips):
    cache = TrajectoryCache(tmp_path / "cache")
    first, cached = encode_with_cache(clips[17], wan_folder, wan, cache=cache)
    assert not cached
    again, cached = encode_with_cache(clips[17], wan_folder, wan, cache=cache)
    assert cached and again.is_temporal
    np.testing.assert_array_equal(again.last_frame, first.last_frame)
    _, cached = encode_with_cache(clips[17], wan_folder, wan, cache=cache,
                                  windowing=Windowing(steps=2))
    assert not cached
    _, cached = encode_with_cache(clips[17], wan_folder, wan, cache=cache,
                                  windowing=Windowing(steps=21, context=2))
    assert not cached


# --- the guard ------------------------------------------------------------------------------


class BrokenClips:
    """A temporal model whose answers do not follow its rule."""

    fit_mode = "crop"
    rule = FrameRule(4, causal_first=True)
    frame_size, latent_shape, device = (8, 8), (2,), "cpu"
    temporal_stride, causal_first_frame, window_steps = 4, True, 16

    def __init__(self, answer=None, error: BaseException | None = None):
        self.answer, self.error, self.calls = answer, error, 0

    def steps_for(self, frames):
        return self.rule.steps_for(frames)

    def frames_for(self, steps):
        return self.rule.frames_for(steps)

    def step_frames(self, frames):
        return self.rule.step_frames(frames)

    def encode_clip(self, frames):
        self.calls += 1
        if self.error:
            raise self.error
        return self.answer

    decode_steps = encode_clip

    def to(self, device):
        pass

    def describe(self):
        return {}


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ((np.zeros((4, 2), np.float32),) * 2, "of shape (4, 2); expected (5, 2)"),
        ((np.zeros((5, 2), np.float64),) * 2, "float64 latent means"),
        ((np.full((5, 2), np.nan, np.float32),) * 2, "NaN or infinite means"),
        (np.zeros((5, 2), np.float32), "encode_clip returned a ndarray"),
    ],
)
def test_the_guard_checks_a_clip_against_the_rule(answer, complaint):
    model = BrokenClips(answer)
    message = one_line_error(guard.ModelRuntimeError, guard.encode_clip, model,
                             np.zeros((17, 8, 8, 3), np.uint8))
    assert complaint in message


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        (np.zeros((8, 8, 8, 3), np.uint8), "of shape (8, 8, 8, 3); expected (9, 8, 8, 3)"),
        (np.zeros((9, 8, 8, 3), np.float32), "float32 frames; expected uint8"),
        (np.full((9, 8, 8, 3), np.inf, np.float32), "NaN or infinite values"),
    ],
)
def test_the_guard_checks_decoded_steps_against_the_rule(answer, complaint):
    message = one_line_error(guard.ModelRuntimeError, guard.decode_steps, BrokenClips(answer),
                             np.zeros((3, 2), np.float32))
    assert complaint in message


def test_a_failing_clip_is_one_line_and_not_retried_frame_by_frame():
    model = BrokenClips(error=RuntimeError("CUDA out of memory.\nTried to allocate"))
    message = one_line_error(guard.ModelRuntimeError, guard.encode_clip, model,
                             np.zeros((17, 8, 8, 3), np.uint8))
    assert "out of GPU memory while encoding" in message and model.calls == 1
    model = BrokenClips(error=ValueError("bad"))
    one_line_error(guard.ModelRuntimeError, guard.encode_clip, model,
                   np.zeros((17, 8, 8, 3), np.uint8))
    assert model.calls == 1


def test_a_temporal_model_where_one_latent_a_frame_is_needed_is_one_line(wan):
    """Parts of the app that do not handle latent steps yet fail in one line."""
    frames = np.zeros((5, 32, 32, 3), np.uint8)
    assert "video autoencoder" in one_line_error(guard.ModelRuntimeError, guard.encode, wan,
                                                 frames)
    latents = np.zeros((2, *wan.latent_shape), np.float32)
    assert "decode frame by frame" in one_line_error(guard.ModelRuntimeError, guard.decode, wan,
                                                     latents)


# --- the command line -----------------------------------------------------------------------


def test_encode_command_writes_a_temporal_trajectory(tmp_path, wan_folder, clips, run_cli):
    output = tmp_path / "t.npz"
    result = run_cli("encode", clips[17], "--model", wan_folder, "-o", output, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "5 latent steps (4 frames each, the first alone)" in result.stdout
    trajectory = Trajectory.load(output)
    assert trajectory.last_frame.tolist() == [0, 4, 8, 12, 16]
    assert trajectory.embedding.shape == (5, 2)
    refused = run_cli("encode", clips[17], "--model", wan_folder, "-o", tmp_path / "s.npz",
                      "--stride", "2", "--device", "cpu")
    assert refused.returncode != 0
    assert "stride must be 1" in refused.stderr and len(refused.stderr.splitlines()) == 1
