"""Shared fixtures. Qt runs offscreen and per-user folders point into a temp dir."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_USER_DIRS = os.environ.get("EXPLORER_TESTS_USER_DIRS")
if _USER_DIRS is None:  # the test run's own, removed at its end; processes it starts share it
    _USER_DIRS = tempfile.mkdtemp(prefix="explorer-tests-")
    os.environ["EXPLORER_TESTS_USER_DIRS"] = _USER_DIRS
    atexit.register(shutil.rmtree, _USER_DIRS, ignore_errors=True)
for _variable in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
    os.environ[_variable] = os.path.join(_USER_DIRS, _variable.lower())

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explorer.demo import demo_frames  # noqa: E402
from explorer.ui.collector import collect_when_due  # noqa: E402

# As the app (explorer.ui.collector): no thread but this one collects garbage, so that no
# worker thread destroys a test's Qt objects (a deadlock with the GUI thread).
gc.disable()


@pytest.fixture(autouse=True)
def _collect_garbage_here():
    yield
    collect_when_due()

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_MEDIA = PROJECT_ROOT.parent / "shared" / "media"
# Frames that decode in each clip of ../shared/media (its README, counted with PyAV).
MEDIA_FRAME_COUNTS = {
    "big_buck_bunny_0_30.webm": 720,
    "bikes.mp4": 250,
    "carphone_pristine.mp4": 120,
    "chaplin.mp4": 241,
    "no_duration.webm": 74,
    "pigs_in_a_polka.gif": 30,
    "video_with_failing_audio.mp4": 280,
}


def write_mjpg(path: Path, frames, fps: float = 24.0) -> Path:
    """Write RGB frames as an MJPG .avi (OpenCV can write it on every platform)."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-frame, 64 px loop of the demo scene."""
    folder = tmp_path_factory.mktemp("clips")
    return write_mjpg(folder / "demo40.avi", demo_frames(40, 64))


LIBRARY_CLIPS = {"a.avi": 23, "b.avi": 31, "c.avi": 17}


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library (built without Ray) of three clips of different lengths and colours."""
    from explorer.paths import demo_model_path
    from tests.factories import make_library

    folder = tmp_path_factory.mktemp("library")
    clips = []
    for shift, (name, count) in enumerate(LIBRARY_CLIPS.items()):
        frames = [np.roll(frame, shift, axis=2) for frame in demo_frames(count, 48)]
        clips.append(write_mjpg(folder / name, frames))
    return make_library(folder / "lib", clips, demo_model_path())


@pytest.fixture
def run_cli():
    """Run ``python -m explorer ARGS`` in a child process; returns CompletedProcess."""
    import subprocess

    def run(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "explorer", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT_ROOT,
            **kwargs,
        )

    return run


@pytest.fixture
def shared_media() -> Path:
    if not SHARED_MEDIA.is_dir():
        pytest.skip("../shared/media not present (real clips are only in the dev checkout)")
    return SHARED_MEDIA


@pytest.fixture(scope="module")
def wan_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight ``AutoencoderKLWan`` folder (4 latent channels, time compressed
    by 4) that opens at 32 px: the temporal model of the tests."""
    from tests.test_video_vaes import WAN, save

    folder = save(tmp_path_factory.mktemp("models") / "wan", "AutoencoderKLWan", WAN)
    (folder / "explorer.json").write_text('{"frame_size": 32}')
    return folder


@pytest.fixture(scope="module")
def wan(wan_folder: Path):
    """:func:`wan_folder`, opened on the CPU."""
    from explorer.model.open import open_model

    return open_model(wan_folder, device="cpu")
