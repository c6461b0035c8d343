"""Reading videos: exact frame counts, exact seeking, and clear errors for bad input."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from explorer.errors import VideoError
from explorer.video import FrameIndexError, VideoReader, fit_frames, open_video, probe_video
from explorer.video import reader as reader_module
from tests.conftest import MEDIA_FRAME_COUNTS

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
WIDTH, HEIGHT = 32, 24


def colour(i: int) -> tuple[int, int, int]:
    """A distinct, codec-friendly RGB colour for frame ``i``."""
    return (16 + (i * 37) % 224, 16 + (i * 71) % 224, 16 + (i * 113) % 224)


def coloured_frames(count: int, width: int = WIDTH, height: int = HEIGHT) -> list[np.ndarray]:
    return [np.full((height, width, 3), colour(i), np.uint8) for i in range(count)]


def noise_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8) for _ in range(count)]


def write_pyav(
    path: Path,
    frames: list[np.ndarray],
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    fps: int = 25,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_opencv(path: Path, frames: list[np.ndarray], fourcc: str, gray: bool = False) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (width, height), not gray
    )
    assert writer.isOpened(), f"this OpenCV build cannot write {fourcc}"
    for rgb in frames:
        writer.write(rgb[..., 0] if gray else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def h264_with_short_gops(path: Path, count: int = 60) -> Path:
    """H.264 with a keyframe every 8 frames and B-frames, to exercise seeking."""
    return write_pyav(path, noise_frames(count), options={"g": "8", "bf": "2", "crf": "30"})


def mean_colour(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).mean(axis=0)


def read_all(reader: VideoReader) -> list[np.ndarray]:
    return [rgb for _, rgb in reader.frames()]


MAKERS: dict[str, Callable[[Path, list[np.ndarray]], Path]] = {
    "mjpeg.avi": lambda p, f: write_opencv(p / "clip.avi", f, "MJPG"),
    "mpeg4.mp4": lambda p, f: write_opencv(p / "clip.mp4", f, "mp4v"),
    "h264.mp4": lambda p, f: write_pyav(p / "clip.mp4", f),
    "vp9.webm": lambda p, f: write_pyav(p / "clip.webm", f, "libvpx-vp9", options={"crf": "20"}),
    "gif": lambda p, f: write_pyav(p / "clip.gif", f, "gif", pix_fmt="rgb8", fps=10),
}


@pytest.mark.parametrize("kind", MAKERS)
def test_every_frame_comes_out_in_order(tmp_path: Path, kind: str) -> None:
    source = coloured_frames(17)
    with open_video(MAKERS[kind](tmp_path, source)) as reader:
        frames = list(reader.frames())
        assert reader.count_frames() == 17
        assert reader.warnings == []
    assert [index for index, _ in frames] == list(range(17))
    for (_, rgb), expected in zip(frames, source, strict=True):
        assert rgb.shape == (HEIGHT, WIDTH, 3) and rgb.dtype == np.uint8
        assert rgb.flags.c_contiguous
        assert np.abs(mean_colour(rgb) - expected[0, 0]).max() < 20


def test_probe_reads_metadata_without_decoding(tmp_path: Path) -> None:
    path = write_pyav(tmp_path / "clip.mp4", coloured_frames(10), fps=25)
    info = probe_video(path)
    assert (info.width, info.height, info.fps, info.codec) == (WIDTH, HEIGHT, 25.0, "h264")
    assert info.declared_frames == 10
    assert info.duration_s == pytest.approx(0.4)
    assert info.backend == "pyav" and info.path == path and info.notes == ()


def test_grayscale_comes_out_as_rgb(tmp_path: Path) -> None:
    path = write_opencv(tmp_path / "gray.avi", coloured_frames(5), "MJPG", gray=True)
    with open_video(path) as reader:
        frames = read_all(reader)
    assert len(frames) == 5
    for i, rgb in enumerate(frames):
        assert rgb.shape == (HEIGHT, WIDTH, 3)
        assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
        assert abs(rgb.mean() - colour(i)[0]) < 8


def test_odd_size_is_read_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    source = [rng.integers(0, 256, (17, 31, 3), dtype=np.uint8) for _ in range(4)]
    path = write_pyav(tmp_path / "odd.mov", source, codec="png", pix_fmt="rgb24")
    with open_video(path) as reader:
        assert (reader.info.width, reader.info.height) == (31, 17)
        frames = read_all(reader)
    assert all(np.array_equal(rgb, expected) for rgb, expected in zip(frames, source, strict=True))


def test_single_frame_video(tmp_path: Path) -> None:
    path = write_pyav(tmp_path / "one.mp4", coloured_frames(1))
    with open_video(path) as reader:
        assert reader.count_frames() == 1
        assert reader.frame(0).shape == (HEIGHT, WIDTH, 3)
        with pytest.raises(FrameIndexError):
            reader.frame(1)


@pytest.mark.parametrize(
    ("start", "end", "stride", "max_frames"),
    [
        (0, None, 1, None),
        (3, 20, 4, None),
        (3, 20, 4, 2),
        (5, 100, 7, None),
        (29, None, 1, 5),
        (30, None, 1, None),
        (0, 0, 1, None),
        (0, None, 1, 0),
        (10, None, 3, 4),
    ],
)
def test_frame_selection_follows_range(
    tmp_path: Path, start: int, end: int | None, stride: int, max_frames: int | None
) -> None:
    path = h264_with_short_gops(tmp_path / "clip.mp4", count=30)
    with open_video(path) as reader:
        everything = read_all(reader)
        selected = list(reader.frames(start, end, stride, max_frames))
    expected = list(range(30))[start:end:stride][:max_frames]
    assert [index for index, _ in selected] == expected
    assert all(np.array_equal(rgb, everything[index]) for index, rgb in selected)


def test_bad_selection_is_a_programming_error(tmp_path: Path) -> None:
    with open_video(write_pyav(tmp_path / "clip.mp4", coloured_frames(3))) as reader:
        for bad in ({"start": -1}, {"stride": 0}, {"end": -2}, {"max_frames": -1}):
            with pytest.raises(ValueError):
                next(reader.frames(**bad))


# Containers that seek differently: by presentation time (MP4, Matroska), by decoding
# time and so a keyframe late (AVI, MPEG-TS), or not at all (raw H.264 has no
# timestamps; this MPEG-PS repeats some).
SEEK_CASES = {
    "mp4": ("clip.mp4", "libx264"),
    "mkv": ("clip.mkv", "libx264"),
    "ts": ("clip.ts", "libx264"),
    "avi": ("clip.avi", "mpeg4"),
    "h264": ("clip.h264", "libx264"),
    "mpg": ("clip.mpg", "mpeg2video"),
}


@pytest.mark.parametrize("case", SEEK_CASES)
def test_random_access_matches_the_stream(tmp_path: Path, case: str) -> None:
    name, codec = SEEK_CASES[case]
    path = write_pyav(tmp_path / name, noise_frames(60), codec, options={"g": "8", "bf": "2"})
    with open_video(path) as reader:
        stream = read_all(reader)
    assert len(stream) == 60
    order = [*random.Random(7).sample(range(60), 60), 59, 0, 30, 31, 32, 8, 7]
    with open_video(path) as reader:
        for k in order:
            assert np.array_equal(reader.frame(k), stream[k]), f"frame {k}"


def test_random_access_before_and_after_counting(tmp_path: Path) -> None:
    path = h264_with_short_gops(tmp_path / "clip.mp4")
    with open_video(path) as reader:
        stream = read_all(reader)
        assert reader.count_frames() == 60
        for k in (55, 3, 41, 40, 17, 58):
            assert np.array_equal(reader.frame(k), stream[k]), f"frame {k}"


def test_stepping_forward_never_seeks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = h264_with_short_gops(tmp_path / "clip.mp4")
    with open_video(path) as reader:
        reader.frame(20)
        cursor = reader._cursor
        jumps: list[object] = []
        monkeypatch.setattr(cursor, "_seek", jumps.append)
        monkeypatch.setattr(cursor, "_rewind", lambda: jumps.append("rewind"))
        for k in range(21, 35):
            reader.frame(k)
        assert jumps == []


def test_frames_are_cached_and_read_only(tmp_path: Path) -> None:
    with open_video(write_pyav(tmp_path / "clip.mp4", coloured_frames(5))) as reader:
        first = reader.frame(3)
        assert reader.frame(3) is first
        with pytest.raises(ValueError):
            first[0, 0, 0] = 1


def test_index_past_the_end_is_a_video_error_and_index_error(tmp_path: Path) -> None:
    with open_video(write_pyav(tmp_path / "clip.mp4", coloured_frames(12))) as reader:
        with pytest.raises(FrameIndexError, match=r"past the end.*12 decodable frames"):
            reader.frame(12)
        with pytest.raises(VideoError):
            reader.frame(500)
        with pytest.raises(IndexError):
            reader.frame(-1)
        assert reader.frame(11).shape == (HEIGHT, WIDTH, 3)


def test_two_streams_from_one_reader_are_independent(tmp_path: Path) -> None:
    with open_video(h264_with_short_gops(tmp_path / "clip.mp4", count=20)) as reader:
        stream = read_all(reader)
        evens, odds = reader.frames(0, None, 2), reader.frames(1, None, 2)
        pairs = list(zip(evens, odds, strict=True))
        reader.frame(19)
    assert [(a[0], b[0]) for a, b in pairs] == [(i, i + 1) for i in range(0, 20, 2)]
    assert all(np.array_equal(a[1], stream[a[0]]) for a, _ in pairs)


def test_opencv_backend_gives_the_same_frames(tmp_path: Path) -> None:
    path = write_opencv(tmp_path / "clip.avi", coloured_frames(15), "MJPG")
    with open_video(path, backend="pyav") as reader:
        expected = read_all(reader)
    with open_video(path, backend="opencv") as reader:
        assert reader.info.backend == "opencv" and reader.info.codec == "mjpg"
        assert reader.count_frames() == 15
        assert all(np.array_equal(a, b) for a, b in zip(read_all(reader), expected, strict=True))
        for k in (10, 2, 3, 14, 0):
            assert np.array_equal(reader.frame(k), expected[k])
        with pytest.raises(FrameIndexError):
            reader.frame(15)


def smooth_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """Blurred noise with a bright square that moves: detail the fit must keep in place."""
    rng = np.random.default_rng(5)
    frames = []
    for i in range(count):
        frame = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), np.uint8), (0, 0), 3)
        frame[height // 3 : height // 2, 4 * i + 10 : 4 * i + 30] = 250
        frames.append(frame)
    return frames


@pytest.mark.parametrize("backend", ["pyav", "opencv"])
@pytest.mark.parametrize(
    ("source", "size", "mode"),
    [
        ((160, 90), (32, 32), "crop"),  # wide, shrunk
        ((160, 90), (32, 32), "letterbox"),
        ((60, 100), (48, 40), "crop"),  # tall, to a non-square size
        ((40, 30), (64, 64), "letterbox"),  # enlarged
        ((800, 16), (32, 32), "crop"),  # too wide to scale whole: cut first
    ],
)
def test_frames_fitted_while_decoding_match_fit_frames(
    tmp_path: Path, backend: str, source: tuple[int, int], size: tuple[int, int], mode: str
) -> None:
    """The fast path (scaling as PyAV converts to RGB) fits frames as fit_frames does."""
    path = write_pyav(tmp_path / "clip.mkv", smooth_frames(6, *source), "ffv1", "yuv444p")
    with open_video(path, backend=backend) as reader:
        native = read_all(reader)
        fitted = [frame for _, frame in reader.frames(start=1, size=size, fit_mode=mode)]
    assert len(fitted) == 5
    for got, frame in zip(fitted, native[1:], strict=True):
        assert got.shape == (*size, 3) and got.dtype == np.uint8 and got.flags.c_contiguous
        want = fit_frames(frame, size, mode).astype(int)
        assert np.abs(got - want).mean() < 4, "the same picture, up to the resampler"
        if mode == "letterbox":  # bars stay black, exactly where fit_frames puts them
            bars = fit_frames(np.full_like(frame, 255), size, mode) == 0
            assert bars.any() and (got[bars] == 0).all()


def test_a_bad_fit_is_a_programming_error(tmp_path: Path) -> None:
    path = write_pyav(tmp_path / "clip.mp4", coloured_frames(3))
    with open_video(path) as reader:
        with pytest.raises(ValueError, match="size"):
            next(reader.frames(size=(0, 8)))
        with pytest.raises(ValueError, match="mode"):
            next(reader.frames(size=(8, 8), fit_mode="stretch"))  # type: ignore[arg-type]


def test_truncated_file_yields_what_it_can_with_a_warning(tmp_path: Path) -> None:
    whole = write_pyav(
        tmp_path / "whole.mp4",
        noise_frames(30),
        options={"g": "5", "crf": "20"},
        container_options={"movflags": "+faststart"},
    )
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    with open_video(cut) as reader:
        count = reader.count_frames()
        frames = read_all(reader)
        assert 0 < count < 30 and len(frames) == count
        assert any("truncated" in warning for warning in reader.warnings)
        with pytest.raises(FrameIndexError):
            reader.frame(count)


def test_truncated_file_without_its_index_is_refused(tmp_path: Path) -> None:
    whole = write_pyav(tmp_path / "whole.mp4", noise_frames(10))  # index (moov) at the end
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    with pytest.raises(VideoError, match="not a video any decoder here can read"):
        open_video(cut)


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "missing.mp4"


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "folder.mp4").mkdir()
    return tmp_path / "folder.mp4"


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty.mp4").touch()
    return tmp_path / "empty.mp4"


def _text(tmp_path: Path) -> Path:
    (tmp_path / "notes.mp4").write_text("these are not the frames you are looking for\n" * 20)
    return tmp_path / "notes.mp4"


def _audio_only(tmp_path: Path) -> Path:
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_missing, "video not found: "),
        (_folder, "is a folder, not a video file"),
        (_empty, r"is empty \(0 bytes\)"),
        (_text, "is not a video any decoder here can read"),
        (_audio_only, "has no video stream"),
    ],
)
def test_bad_input_raises_one_line_video_error(
    tmp_path: Path, make: Callable[[Path], Path], message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path)
    for action in (probe_video, open_video):
        with pytest.raises(VideoError, match=message) as caught:
            action(path)
        assert "\n" not in str(caught.value)
        assert str(path) in str(caught.value)
    assert capfd.readouterr().err == "", "decoder libraries must not log to stderr"


def test_opencv_takes_over_when_pyav_cannot_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_opencv(tmp_path / "clip.avi", coloured_frames(6), "MJPG")
    monkeypatch.setattr(reader_module._PyAVCursor, "get", lambda self, index: None)
    with open_video(path) as reader:
        assert reader.info.backend == "opencv"
        assert reader.count_frames() == 6 and reader.warnings == []
    assert probe_video(path).backend == "pyav"  # probing does not decode
    with pytest.raises(VideoError, match="has no decodable video frames"):
        open_video(path, backend="pyav")


def test_closed_reader_refuses_work(tmp_path: Path) -> None:
    reader = open_video(write_pyav(tmp_path / "clip.mp4", coloured_frames(3)))
    reader.close()
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.frame(1)


# -- real clips ----------------------------------------------------------------------


def media(name: str) -> Path:
    if not MEDIA.is_dir():
        pytest.skip("../shared/media not present")
    return MEDIA / name


@pytest.mark.parametrize(("name", "count"), MEDIA_FRAME_COUNTS.items())
def test_real_clips_decode_every_frame(name: str, count: int) -> None:
    with open_video(media(name)) as reader:
        assert sum(1 for _ in reader.frames()) == count
        assert reader.count_frames() == count
        assert reader.warnings == []


def test_real_clip_seeks_exactly_across_keyframes() -> None:
    with open_video(media("bikes.mp4")) as reader:
        stream = {index: rgb for index, rgb in reader.frames(stride=7)}
        for k in random.Random(3).sample(sorted(stream), 12):
            assert np.array_equal(reader.frame(k), stream[k]), f"frame {k}"


def test_container_without_duration_still_counts() -> None:
    info = probe_video(media("no_duration.webm"))
    assert info.declared_frames is None and info.duration_s is None
    assert info.fps == pytest.approx(15000 / 1001) and info.codec == "vp9"
