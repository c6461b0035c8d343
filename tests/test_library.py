"""``explorer library encode`` on a local Ray, started once for the module on 127.0.0.1: every
video frame-exact, resuming, a corrupt video among good ones, a worker killed mid-run."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on loopback only

import cv2
import numpy as np
import pytest

from explorer.cli import main
from explorer.demo import demo_frames
from explorer.latent.trajectory import Trajectory
from explorer.library.catalog import load_library
from explorer.library.shared_map import load_map
from explorer.paths import demo_model_path
from tests.conftest import PROJECT_ROOT, write_mjpg

MODEL = str(demo_model_path())
DIE_ONCE = "EXPLORER_TEST_DIE_ONCE"
"""The marker file whose presence makes :func:`dies_once` kill its worker, once."""
CLIP_FRAMES = {"a.avi": 23, "b.avi": 31, "sub/c.avi": 17}


@pytest.fixture(scope="module")
def ray_here(tmp_path_factory):
    """A local Ray for the module (the command uses this process's connection)."""
    import logging

    import ray

    marker = tmp_path_factory.mktemp("die") / "die-once"
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             _node_ip_address="127.0.0.1", logging_level=logging.ERROR, log_to_driver=False,
             runtime_env={"env_vars": {DIE_ONCE: str(marker),
                                       "PYTHONPATH": str(PROJECT_ROOT)}})
    yield marker
    ray.shutdown()


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    """Three small clips of different lengths and colours, one in a subfolder, and a file
    that is no video."""
    folder = tmp_path_factory.mktemp("clips")
    for shift, (name, count) in enumerate(CLIP_FRAMES.items()):
        (folder / name).parent.mkdir(exist_ok=True)
        frames = [np.roll(frame, shift, axis=2) for frame in demo_frames(count, 48)]
        write_mjpg(folder / name, frames)
    (folder / "notes.txt").write_text("not a video")
    return folder


@pytest.fixture
def clips(originals, tmp_path) -> Path:
    """A copy of the clips that a test may change."""
    return Path(shutil.copytree(originals, tmp_path / "clips"))


@pytest.fixture(scope="module")
def reference(originals) -> dict[str, Trajectory]:
    """Each clip encoded alone by the plain pipeline, as ``explorer encode`` does."""
    from explorer.model.files import load_model
    from explorer.pipeline.encode import encode_video

    vae = load_model(MODEL)
    return {name: encode_video(originals / name, vae) for name in CLIP_FRAMES}


def run(*args) -> tuple[int, str, str]:
    """``explorer ARGS`` in this process (Ctrl-C stays pytest's): exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    with mock.patch("explorer.interrupts.install"), redirect_stdout(out), \
            redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main([str(arg) for arg in args])
    return exit_.value.code, out.getvalue(), err.getvalue()


def encode_into(library: Path, *inputs, model: str = MODEL,
                extra: tuple[str, ...] = ()) -> tuple[int, str, str]:
    return run("library", "encode", *inputs, "--model", model, "-o", library, "--batch-size", 8,
               *extra)


def trajectories(library: Path, clips: Path) -> dict[str, Trajectory]:
    """The done videos' trajectories, by their path in ``clips``."""
    return {Path(video.path).relative_to(clips.resolve()).as_posix():
            Trajectory.load(library / video.trajectory)
            for _, video in load_library(library).done()}


def mtimes(library: Path) -> dict[str, int]:
    return {file.name: file.stat().st_mtime_ns for file in library.iterdir()}


def assert_same_as_alone(encoded: Trajectory, alone: Trajectory) -> None:
    np.testing.assert_array_equal(encoded.frame_index, alone.frame_index)
    np.testing.assert_allclose(encoded.mu, alone.mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(encoded.logvar, alone.logvar, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def built(ray_here, originals, tmp_path_factory) -> tuple[Path, Path, int, str, str]:
    """The clips and a corrupt video encoded into a library, by two workers: the library,
    the clips, and the command's exit code and output."""
    clips = Path(shutil.copytree(originals, tmp_path_factory.mktemp("built") / "clips"))
    (clips / "broken.avi").write_bytes(b"RIFF" + os.urandom(4000))
    library = clips.parent / "lib"
    return (library, clips, *encode_into(library, clips))


def test_every_video_is_encoded_frame_exactly_and_a_corrupt_one_fails_alone(built, reference):
    library, clips, code, out, err = built
    assert code == 1
    assert err.strip().splitlines()[-1].startswith(
        "explorer: error: 1 of 4 videos failed (broken.avi: ")
    assert "Traceback" not in err
    assert f"wrote {library}: 3 videos, 71 frames" in out
    index = load_library(library)
    assert [video.name for video in index.videos] == ["a.avi", "b.avi", "broken.avi", "c.avi"]
    broken = index.videos[2]
    assert broken.status == "failed" and "broken.avi" in broken.reason
    assert not (library / broken.trajectory).exists()
    assert [video.frames for _, video in index.done()] == list(CLIP_FRAMES.values())
    assert index.model.latent_shape == [16] and index.model.identity
    encoded = trajectories(library, clips)
    assert sorted(encoded) == sorted(CLIP_FRAMES)
    for name, trajectory in encoded.items():
        assert_same_as_alone(trajectory, reference[name])
        assert np.isfinite(trajectory.embedding).all()  # its own layout, as encode saves it
    shared = load_map(library, index)  # one PCA of all three, each video's rows in order
    np.testing.assert_array_equal(shared.rows, list(CLIP_FRAMES.values()))
    points = np.concatenate([shared.embed(encoded[name].mu) for name in CLIP_FRAMES])
    np.testing.assert_allclose(shared.embedding, points, atol=1e-4)
    assert shared.embedding.std(axis=0).min() > 0


def test_info_lists_the_videos_failures_and_model(built):
    library = built[0]
    code, out, err = run("info", library)
    assert code == 0, err
    lines = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines())
    assert lines["Model"] == MODEL
    assert lines["Latent shape"] == "16"
    assert lines["Video 0"] == "a.avi: 23 frames, 1.0 s at 24 fps, done"
    assert lines["Video 2"].startswith("broken.avi: failed: ")
    assert lines["Video 3"] == "c.avi: 17 frames, 0.7 s at 24 fps, done"
    assert lines["Total"] == "3 of 4 videos done, 71 frames (3.0 s); 1 failed"
    assert lines["Shared map"] == "PCA and UMAP of 3 videos, 71 points"


def test_a_clip_morphs_from_a_frame_of_one_video_to_a_frame_of_another(built, tmp_path):
    from explorer.library.joined import VideoFrame
    from explorer.pipeline.export import original_panel
    from explorer.video.reader import open_video

    library, clips = built[:2]
    out = tmp_path / "clip"
    code, _, err = run("export", "--model", MODEL, "--library", library, "--keyframes",
                       "0:3,c.avi:10", "--steps", "6", "--size", "64", "--side-by-side",
                       "-o", f"{out}/")
    assert code == 0, err
    frames = [cv2.imread(str(file))[..., ::-1] for file in sorted(out.glob("*.png"))]
    assert len(frames) == 6
    for frame, index, clip, number in ((frames[0], 0, "a.avi", 3),
                                       (frames[-1], 3, "sub/c.avi", 10)):
        with open_video(clips / clip) as reader:
            original = reader.frame(number)
        expected = original_panel(original, VideoFrame(0, True, index, number), (64, 64))
        np.testing.assert_array_equal(frame[:, :64], expected)  # labelled "video 3, frame 10"
    recipe = json.loads((out / "clip.json").read_text())
    assert recipe["keyframes"] == [{"frame": 3}, {"frame": 10}]
    assert recipe["settings"]["library"] == str(library)
    assert recipe["settings"]["library_keyframes"] == "0:3,3:10"


@pytest.mark.parametrize(("keyframes", "message"), [
    ("0:3,nope.avi:1", "the library has no video named 'nope.avi' (explorer info LIB lists "
                       "them)"),
    ("0:3,9:1", "the library has no video 9 (it has 4: 0 to 3)"),
    ("0:3,2:1", "video 2 (broken.avi) of the library failed to encode"),
    ("0:3,b.avi:31", "video 1 (b.avi) has no frame 31 in the library: it has 31 frames"),
    ("0,3", "--library takes keyframes as VIDEO:FRAME"),
])
def test_library_keyframes_that_name_nothing_are_one_line(built, tmp_path, keyframes, message):
    code, _, err = run("export", "--model", MODEL, "--library", built[0], "--keyframes",
                       keyframes, "-o", tmp_path / "x.mp4")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"explorer: error: {message}")
    assert not list(tmp_path.iterdir())


def test_a_rerun_encodes_nothing_and_a_changed_video_again(ray_here, clips, tmp_path):
    library = tmp_path / "lib"
    one = ("--workers", "1")
    assert encode_into(library, clips, extra=one)[0] == 0
    before = mtimes(library)
    code, out, _ = encode_into(library, clips)
    assert code == 0 and "encoded 0 in" in out and "3 done already" in out
    assert mtimes(library) == before  # not one file written again, library.json included

    write_mjpg(clips / "b.avi", [frame[::-1] for frame in demo_frames(12, 48)])
    code, out, _ = encode_into(library, clips, extra=one)
    assert code == 0 and "encoded 1 in" in out and "2 done already" in out
    index = load_library(library)
    changed = index.videos[1]
    after = mtimes(library)
    assert changed.frames == 12 and after[changed.trajectory] != before[changed.trajectory]
    for _, video in index.done():
        if video is not changed:
            assert after[video.trajectory] == before[video.trajectory]
    assert len(load_map(library, index).embedding) == 23 + 12 + 17  # fitted again


def dies_once(device: str = "cpu"):
    """A plugin model: the demo model, whose first encode kills its worker's process
    while the marker file (:data:`DIE_ONCE`) is there, taking the marker away; and whose
    encode of black frames kills it every time."""
    from explorer.model.files import load_model

    return _Dies(load_model(MODEL, device))


class _Dies:
    def __init__(self, vae) -> None:
        self._vae = vae

    def __getattr__(self, name: str):
        return getattr(self._vae, name)

    def encode(self, frames):
        try:
            Path(os.environ[DIE_ONCE]).unlink()
        except FileNotFoundError:
            if frames.max() > 8:  # not black (as a JPEG decodes it)
                return self._vae.encode(frames)
        os._exit(1)


def test_a_killed_worker_is_restarted_and_a_video_that_kills_it_each_time_fails(
        ray_here, clips, reference, tmp_path, monkeypatch):
    monkeypatch.setattr("explorer.library.ray_pool.RETRIES", 1)  # fewer worker starts
    write_mjpg(clips / "black.avi", np.zeros((8, 48, 48, 3), np.uint8))
    ray_here.write_text("")
    library = tmp_path / "lib"
    code, _, err = encode_into(library, clips, model="tests.test_library:dies_once",
                               extra=("--trust-code", "--workers", "1"))
    assert code == 1
    assert err.strip().splitlines()[-1].startswith(
        "explorer: error: 1 of 4 videos failed (black.avi: its Ray worker died while encoding "
        "it, and Ray's retries ran out")
    assert not ray_here.exists()  # the first video killed its worker, and was done again
    encoded = trajectories(library, clips)
    assert sorted(encoded) == sorted(CLIP_FRAMES)  # the last one by a new worker
    for name, trajectory in encoded.items():
        assert_same_as_alone(trajectory, reference[name])


def test_more_workers_than_ray_has_cores_is_one_line(ray_here, clips, tmp_path):
    code, _, err = encode_into(tmp_path / "lib", clips,
                               extra=("--workers", "64"))
    assert code == 1
    assert err.strip().splitlines() == [
        "explorer: error: --workers 64 is more than the Ray cluster can hold: it has 2 CPUs, "
        "and a worker takes a CPU; give --workers 2 or fewer"]
