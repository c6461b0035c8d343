"""``explorer bench --model FOLDER`` with a video autoencoder (latent steps of several
frames): each model stage runs, on a tiny random Wan at 32 px, and counts what it should.
Like ``tests/test_bench.py``, never its timings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from explorer import bench
from explorer.demo import demo_frames
from explorer.pipeline.encode import Selection, encode_video
from explorer.video.reader import open_video
from tests.conftest import write_mjpg
from tests.factories import make_vae

TINY = replace(bench.QUICK, rounds=1, drag_seconds=0.5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """100 frames: two of the tiny Wan's windows (21 steps, 81 frames each)."""
    return write_mjpg(tmp_path_factory.mktemp("clips") / "clip.avi", demo_frames(100, 32))


def test_the_model_check_encodes_and_decodes_a_clip(wan):
    bench.check_model(wan)  # was: "this needs a model that can encode frame by frame"


def test_the_model_alone_encodes_the_windows_the_encode_does(wan, clip):
    trajectory = encode_video(clip, wan, Selection(max_frames=100))
    windows = bench.model_inputs(wan, 100, batch_size=32)
    starts = [frame for _, frame in trajectory.meta["temporal"]["windows"]]
    assert [start for start, _ in windows] == starts and len(starts) == 2
    assert windows[0] == (0, 81) and windows[-1][1] == 100
    assert windows[1][0] < windows[0][1], "a later window starts with its context"


def test_a_per_frame_model_takes_batches():
    assert bench.model_inputs(make_vae(), 70, batch_size=32) == [(0, 32), (32, 64), (64, 70)]


def test_encode_throughput_counts_frames(wan, clip, monkeypatch):
    # room for 40 frames only: the windows go round the frames read
    monkeypatch.setattr(bench, "_FRAME_BUDGET", 40 * 32 * 32 * 3)
    metrics = bench.measure_encode(clip, 100, wan, TINY)
    assert metrics["encode_frames"] == 100
    assert all(metrics[name] > 0 for name in ("reader_fps", "model_fps", "encode_fps"))


@pytest.mark.parametrize(("temporal", "frames"), [(True, 13), (False, 10)])
def test_export_throughput_counts_the_frames_written(temporal, frames, wan, tmp_path):
    """Ten frames asked for: a per-frame model writes ten, the Wan the 13 of 4 steps."""
    vae = wan if temporal else make_vae()
    metrics = bench.measure_export(vae, tmp_path, replace(TINY, export_frames=10))
    with open_video(tmp_path / "export.mp4") as reader:
        written = reader.count_frames()
    assert metrics["export_frames"] == written == frames
    assert all(metrics[name] > 0 for name in ("decode_fps", "writer_fps", "export_fps"))


def test_drag_previews_of_a_video_autoencoder(wan, wan_folder, tmp_path):
    video = write_mjpg(tmp_path / "short.avi", demo_frames(33, 32))  # 9 latent steps
    metrics = bench.measure_preview(video, bench.ModelSpec(str(wan_folder)), wan, TINY)
    assert metrics["decode_ms"] > 0
    assert metrics["preview_decoded"] >= 1
    assert metrics["preview_last_is_latest"] is True
