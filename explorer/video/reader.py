"""Read video files frame by frame, exactly.

Containers often misreport their frame count and duration, and a damaged file can
end early, so nothing here trusts metadata: frames are counted and located by
decoding them. PyAV is the main backend: its decoded frames match OpenCV's pixel for
pixel at comparable speed, and unlike OpenCV it exposes the timestamps and keyframes
that exact seeking needs. OpenCV, which brings its own FFmpeg build, is the fallback
for videos PyAV can open but not decode.

Each decoding position is a *cursor* with its own open container. What cursors learn
while decoding (every frame's timestamp, which frames are keyframes, where the stream
ends) goes into a shared :class:`_FrameIndex`, which later seeks use to jump to the
keyframe before a frame and decode forward from there.

Frames come upright, as a player shows them: phones record portrait video as
landscape frames plus a display matrix saying how to turn them, and both backends
apply it (PyAV through :attr:`VideoFrame.rotation`, OpenCV through
``CAP_PROP_ORIENTATION_AUTO``); :class:`VideoInfo` gives the turned size.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from explorer.errors import VideoError
from explorer.fileio import require_file
from explorer.video.fitting import FitMode, check_fit, plan_fit

Backend = Literal["auto", "pyav", "opencv"]
_Fit = tuple[tuple[int, int], FitMode]
"""A target (H, W) and how frames fit it, for the frames of one ``frames()`` call."""
_T = TypeVar("_T")

FALLBACK_FPS = 25.0
_MAX_SANE_FPS = 1000.0
_CACHE_FRAMES = 64
_CACHE_BYTES = 256 * 1024 * 1024
# Seeking restarts the decoder, so it only pays when it skips more frames than this.
_SEEK_GAP = 16
# Seeks that land past their frame are retried from earlier keyframes this many times.
_SEEK_ATTEMPTS = 3
# A decoded count this far below the declared one means the file ends early; the
# slack absorbs edit lists and rounding in counts estimated from the duration.
_TRUNCATION_SLACK = 0.05
SWSCALE_THREADS = 1
"""Threads for each colour conversion, here and in the clip writer. swscale's default
splits every frame across all cores, whose hand-offs cost more than they save on frames
this size, while the codec's own threads and the model beside it keep the cores busy
anyway. With one thread (same pixels), reading the bench's 256 px clip for a 64 px model
takes 0.14 instead of 0.17 ms of CPU a frame and 720p or 1080p reading is no slower; a
lone 1080p frame converts in 0.53 instead of 0.38 ms."""
# The display matrix is read from the first frame these packets decode to.
_ROTATION_PACKETS = 64
# Everything PyAV raises for bad input: its errors subclass these built-ins.
_AV_ERRORS = (av.FFmpegError, OSError, ValueError)


class FrameIndexError(VideoError, IndexError):
    """A frame index before the first frame or past the last decodable one."""


class _UndecodableError(VideoError):
    """A readable file whose video PyAV cannot decode: worth trying OpenCV on."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself, checked only as far as opening it."""

    path: Path
    width: int
    """The width of frames as shown, after :attr:`rotation` (as are all frames read)."""
    height: int
    fps: float
    """Best estimate of the frame rate; :data:`FALLBACK_FPS` (with a note) if unknown."""
    codec: str
    declared_frames: int | None
    """The container's frame count, or one estimated from its duration. Not trusted:
    use :meth:`VideoReader.count_frames` for the real number."""
    duration_s: float | None
    backend: str
    notes: tuple[str, ...] = ()
    """Caveats found while probing, e.g. an unknown frame rate."""
    rotation: int = 0
    """Degrees (0, 90, 180 or 270) the stored frames are turned clockwise to be shown
    upright, from the file's display matrix: 90 for a phone's usual portrait video."""


def probe_video(path: str | os.PathLike[str], backend: Backend = "auto") -> VideoInfo:
    """Read a video's metadata, decoding no more than its first frame (whose display
    matrix gives the rotation).

    Raises :class:`VideoError` when the file is missing, empty, unreadable or has
    no video stream.
    """
    file = require_file(path, "video", VideoError)
    return _open_with_fallback(file, backend, _probe_pyav, _probe_opencv)


def open_video(path: str | os.PathLike[str], backend: Backend = "auto") -> VideoReader:
    """Open a video for reading; the caller closes it (it is a context manager)."""
    return VideoReader(path, backend)


class VideoReader:
    """Frames of one video file as RGB ``uint8`` arrays of shape ``[H, W, 3]``, upright.

    :meth:`frames` streams a selection of frames; :meth:`frame` fetches single frames
    in any order for a viewer, cheaply when they are requested in sequence. Every
    :meth:`frames` call decodes with its own decoder, so it can run in another thread
    than :meth:`frame` (which is thread-safe) and alongside other :meth:`frames` calls.
    Problems that do not stop reading (a truncated file, damaged packets, an unknown
    frame rate) are described in :attr:`warnings`.
    """

    info: VideoInfo
    warnings: list[str]

    def __init__(self, path: str | os.PathLike[str], backend: Backend = "auto") -> None:
        file = require_file(path, "video", VideoError)
        self.warnings = []
        self._index = _FrameIndex()
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._closed = False
        self._cursor = _open_with_fallback(file, backend, self._open_pyav, self._open_opencv)
        self.warnings.extend(self.info.notes)
        frame_bytes = max(1, self.info.width * self.info.height * 3)
        self._cache_size = max(2, min(_CACHE_FRAMES, _CACHE_BYTES // frame_bytes))

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder; frame generators still running keep their own."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._cursor.close()
                self._cache.clear()

    def frames(
        self,
        start: int = 0,
        end: int | None = None,
        stride: int = 1,
        max_frames: int | None = None,
        size: tuple[int, int] | None = None,
        fit_mode: FitMode = "crop",
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, rgb)`` for the frames ``range(start, end, stride)``.

        At most ``max_frames`` are yielded; ``end`` is exclusive and ``None`` means
        the end of the video. Frames are decoded as they are consumed. Frames the
        selection skips are decoded but not converted to RGB, unless the decoder can
        seek past them to a keyframe it already knows of.

        With ``size`` = (H, W), frames come fitted to it as :func:`fit_frames` fits
        them. PyAV scales them as it converts them to RGB, which for a model's small
        input costs a fraction of converting the full frame and then scaling it (a
        third, for 1080p video).
        """
        selection = _selection(start, end, stride, max_frames)
        self._check_open()
        fit = None
        if size is not None:
            check_fit(size, fit_mode)
            fit = (int(size[0]), int(size[1])), fit_mode
        cursor = self._new_cursor(fit)
        try:
            for index in selection:
                rgb = cursor.get(index)
                if rgb is None:
                    return
                yield index, rgb
        finally:
            cursor.close()

    def frame(self, index: int) -> np.ndarray:
        """Return frame ``index`` exactly, as a read-only array.

        Recently returned frames are cached, and the decoder stays where it stopped,
        so stepping forward frame by frame decodes each frame once. Raises
        :class:`FrameIndexError` (a :class:`VideoError`) past the last decodable frame.
        """
        with self._lock:
            self._check_open()
            if index < 0:
                raise FrameIndexError(f"frame index must be 0 or more, got {index}")
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
            count = self._index.count
            rgb = None if count is not None and index >= count else self._cursor.get(index)
            if rgb is None:
                raise FrameIndexError(
                    f"frame {index} is past the end of {self.info.path.name}, "
                    f"which has {self._index.count} decodable frames"
                )
            rgb.flags.writeable = False
            self._cache[index] = rgb
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return rgb

    def count_frames(self) -> int:
        """Count the decodable frames, decoding the video once (the result is kept)."""
        self._check_open()
        if self._index.count is None:
            cursor = self._new_cursor()
            try:
                cursor.get(sys.maxsize)
            finally:
                cursor.close()
        assert self._index.count is not None, "a cursor that reaches the end records it"
        return self._index.count

    # -- internals -----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the VideoReader is closed")

    def _new_cursor(self, fit: _Fit | None = None) -> _Cursor:
        if self.info.backend == "pyav":
            return _PyAVCursor(self.info, self._index, self._warn, self._reached_end, fit)
        return _OpenCVCursor(self.info, self._reached_end, fit)

    def _open_pyav(self, file: Path) -> _Cursor:
        self.info = _probe_pyav(file)
        return self._check_first_frame(self._new_cursor())

    def _open_opencv(self, file: Path) -> _Cursor:
        self.info = _probe_opencv(file)
        return self._check_first_frame(self._new_cursor())

    def _check_first_frame(self, cursor: _Cursor) -> _Cursor:
        """Decode frame 0 up front, so a file without usable frames fails on open."""
        first = cursor.get(0)
        if first is None:
            cursor.close()
            self._index.reset()
            self.warnings.clear()
            raise _UndecodableError(f"{cursor.path} has no decodable video frames")
        first.flags.writeable = False
        self._cache[0] = first
        return cursor

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _reached_end(self, count: int) -> None:
        """Record the frame count once a cursor decodes to the end of the stream."""
        if not self._index.finish(count):
            return
        declared = self.info.declared_frames
        if declared and count < declared * (1 - _TRUNCATION_SLACK):
            self._warn(
                f"stopped after {count} of the {declared} frames the file declares: "
                "it may be truncated or damaged"
            )


def _selection(start: int, end: int | None, stride: int, max_frames: int | None) -> range:
    if start < 0 or stride < 1 or (end is not None and end < 0):
        raise ValueError(f"need start >= 0, end >= 0 and stride >= 1, got {start}, {end}, {stride}")
    if max_frames is not None and max_frames < 0:
        raise ValueError(f"max_frames must be 0 or more, got {max_frames}")
    selection = range(start, sys.maxsize if end is None else end, stride)
    return selection if max_frames is None else selection[:max_frames]


def _open_with_fallback(
    file: Path, backend: Backend, pyav: Callable[[Path], _T], opencv: Callable[[Path], _T]
) -> _T:
    """Open ``file`` with PyAV, or with OpenCV when ``backend`` asks for it or allows it.

    OpenCV is only tried on files PyAV reads but cannot decode: a file PyAV's FFmpeg
    cannot parse would fail the same way in OpenCV's, only with log lines on stderr.
    When both fail, PyAV's error is raised: it is the more specific one.
    """
    if backend == "opencv":
        return opencv(file)
    try:
        return pyav(file)
    except _UndecodableError:
        if backend == "pyav":
            raise
        try:
            return opencv(file)
        except VideoError:
            pass
        raise


# -- metadata ----------------------------------------------------------------------


def _probe_pyav(file: Path) -> VideoInfo:
    with _open_container(file) as container:
        stream = container.streams.video[0]
        duration = _duration_s(container, stream)
        rate = _first_sane_rate(stream.average_rate, stream.guessed_rate, stream.base_rate)
        fps, notes = _fps_or_fallback(rate)
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = _display_rotation(container, stream)
        if rotation % 180:
            width, height = height, width
        return VideoInfo(
            path=file,
            width=width,
            height=height,
            fps=fps,
            codec=stream.codec_context.codec.canonical_name,
            declared_frames=stream.frames or _frames_from_duration(duration, rate),
            duration_s=duration,
            backend="pyav",
            notes=notes,
            rotation=rotation,
        )


def _probe_opencv(file: Path) -> VideoInfo:
    capture = _open_capture(file)
    try:
        if not capture.isOpened():
            raise VideoError(f"{file} is not a video any decoder here can read")
        rate = _first_sane_rate(capture.get(cv2.CAP_PROP_FPS))
        fps, notes = _fps_or_fallback(rate)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        declared = int(count) if 0 < count < 2**31 else None
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little")
        codec = fourcc.decode("ascii", "replace").strip("\0 ").lower()
        return VideoInfo(
            path=file,
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps,
            codec=codec or "unknown",
            declared_frames=declared,
            duration_s=declared / rate if declared and rate else None,
            backend="opencv",
            notes=notes,
            rotation=_quarter_turn(capture.get(cv2.CAP_PROP_ORIENTATION_META)),
        )
    finally:
        capture.release()


def _open_capture(file: Path) -> cv2.VideoCapture:
    """Open ``file`` with OpenCV, which then turns frames upright and reports their
    turned size (the default of its FFmpeg backend, asked for so as not to rely on it)."""
    capture = cv2.VideoCapture(str(file))
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture


def _display_rotation(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    """The clockwise turn, in degrees, that shows ``stream``'s frames upright.

    PyAV reads the display matrix only from decoded frames (FFmpeg copies it from the
    stream to each frame), so this decodes the first frame; 0 when no frame decodes
    from the first packets (opening such a file then fails in the cursor anyway).
    """
    with contextlib.suppress(*_AV_ERRORS):
        for packet in itertools.islice(container.demux(stream), _ROTATION_PACKETS):
            try:
                frames = packet.decode()
            except _AV_ERRORS:
                continue
            if frames:
                # VideoFrame.rotation is counter-clockwise, in [-180, 180].
                return _quarter_turn(-frames[0].rotation)
    return 0


def _quarter_turn(degrees: float) -> int:
    """``degrees`` as 0, 90, 180 or 270: the nearest quarter turn (phones write only
    quarter turns; players draw other angles tilted, which frames here cannot be)."""
    return round(degrees / 90) % 4 * 90


def _fps_or_fallback(rate: float | None) -> tuple[float, tuple[str, ...]]:
    if rate is None:
        return FALLBACK_FPS, (f"the frame rate is unknown; assuming {FALLBACK_FPS:g} fps",)
    return rate, ()


def _open_container(file: Path) -> av.container.InputContainer:
    """Open ``file`` with PyAV, turning every failure into a one-line VideoError."""
    try:
        container = av.open(str(file))
    except PermissionError:
        raise VideoError(f"cannot read {file}: permission denied") from None
    except _AV_ERRORS:
        raise VideoError(
            f"{file} is not a video any decoder here can read "
            "(it may be damaged, incomplete or not a video at all)"
        ) from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{file} has no video stream")
    if container.streams.video[0].codec_context is None:
        container.close()
        raise _UndecodableError(f"{file} uses a video codec no decoder here supports")
    return container


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return stream.duration * float(stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _first_sane_rate(*rates: Fraction | float | None) -> float | None:
    for rate in rates:
        if rate and 0 < rate <= _MAX_SANE_FPS:
            return float(rate)
    return None


def _frames_from_duration(duration: float | None, fps: float | None) -> int | None:
    if duration is None or fps is None:
        return None
    return math.floor(duration * fps + 0.5) or None


# -- decoding ----------------------------------------------------------------------


class _FrameIndex:
    """What decoding has taught us about a stream, shared by all its cursors.

    Frames are recorded in order: each frame's presentation timestamp, and which
    frames are keyframes. Seeking needs distinct, increasing timestamps; a stream
    without them is marked unseekable and is only ever decoded from the start.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.timestamps: list[int] = []
        self.keyframes: list[int] = []
        self.positions: dict[int, int] = {}
        self.seekable = True
        self.count: int | None = None

    def record(self, index: int, pts: int | None, keyframe: bool) -> None:
        """Learn about frame ``index``; frames already known are ignored."""
        with self._lock:
            if not self.seekable or index != len(self.timestamps):
                return
            if pts is None or (self.timestamps and pts <= self.timestamps[-1]):
                self.seekable = False
                return
            self.timestamps.append(pts)
            self.positions[pts] = index
            if keyframe:
                self.keyframes.append(index)

    def distrust(self) -> None:
        """Stop seeking in this stream: a seek landed somewhere unexpected."""
        with self._lock:
            self.seekable = False

    def finish(self, count: int) -> bool:
        """Record the frame count; True the first time it becomes known."""
        with self._lock:
            if self.count is not None:
                return False
            self.count = count
            return True

    def position(self, pts: int | None) -> int | None:
        """The index of the recorded frame with timestamp ``pts``, if seekable."""
        return self.positions.get(pts) if self.seekable and pts is not None else None

    def is_beyond(self, pts: int) -> bool:
        """Whether ``pts`` comes after every recorded frame."""
        return bool(self.timestamps) and pts > self.timestamps[-1]

    def keyframe_before(self, index: int) -> int | None:
        """The last recorded keyframe at or before ``index``."""
        with self._lock:
            if not self.seekable:
                return None
            i = bisect.bisect_right(self.keyframes, index)
            return self.keyframes[i - 1] if i else None


class _Cursor(Protocol):
    path: Path

    def get(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as RGB (fitted, if the cursor fits frames), or None when the
        video ends before it."""
        ...

    def close(self) -> None: ...


class _PyAVCursor:
    """A PyAV decoder positioned in the stream, able to go to any frame exactly."""

    def __init__(
        self,
        info: VideoInfo,
        index: _FrameIndex,
        warn: Callable[[str], None],
        on_end: Callable[[int], None],
        fit: _Fit | None = None,
    ) -> None:
        self.path = info.path
        self._size = (info.width, info.height)
        self._turns = info.rotation // 90  # clockwise quarter turns
        self._fit = fit
        self._index = index
        self._warn = warn
        self._on_end = on_end
        self._reformatter = VideoReformatter()
        self._open()

    def close(self) -> None:
        self._frames.close()
        self._container.close()

    def _open(self) -> None:
        self._container = _open_container(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._frames = self._decode()
        self._next = 0
        self._landing: int | None = None  # the keyframe a seek aimed for, until reached
        self._attempt = 0

    def get(self, index: int) -> np.ndarray | None:
        if index < self._next or self._keyframe_ahead(index):
            self._seek(self._index.keyframe_before(index))
        while True:
            frame = next(self._frames, None)
            if self._landing is not None and not self._land(frame, index):
                continue
            if frame is None:
                self._on_end(self._next)
                return None
            position = self._next
            self._next += 1
            self._index.record(position, frame.pts, frame.key_frame)
            if position == index:
                return self._to_rgb(frame, index)

    def _keyframe_ahead(self, index: int) -> bool:
        """Whether jumping to a keyframe at or before ``index`` skips enough frames."""
        keyframe = self._index.keyframe_before(index)
        return keyframe is not None and keyframe > self._next + _SEEK_GAP

    def _seek(self, keyframe: int | None, attempt: int = 1) -> None:
        if keyframe is None:
            self._rewind()
            return
        self._frames.close()
        try:
            self._container.seek(
                self._index.timestamps[keyframe], stream=self._stream, backward=True
            )
        except _AV_ERRORS:
            self._rewind()
            return
        self._frames = self._decode()
        self._landing, self._attempt = keyframe, attempt

    def _land(self, frame: av.VideoFrame | None, index: int) -> bool:
        """Place a frame decoded after a seek by its timestamp.

        Frames before the keyframe aimed for may come first (or be dropped, as they
        can reference frames before the seek point); from the keyframe on, frames
        follow one another and need no lookup. Returns False when the frame cannot
        be used and decoding has been restarted elsewhere.
        """
        pts = None if frame is None else frame.pts
        position = self._index.position(pts)
        if position is not None and position <= index:
            self._next = position
            if position >= self._landing:
                self._landing = None
            return True
        overshot = frame is None or (
            pts is not None and (position is not None or self._index.is_beyond(pts))
        )
        if overshot and self._attempt < _SEEK_ATTEMPTS:
            # Demuxers that seek by decoding time (AVI, MPEG-TS) can land a keyframe
            # late, or at the end: aim one keyframe earlier.
            self._seek(self._index.keyframe_before(self._landing - 1), self._attempt + 1)
        else:  # lost: stop seeking in this stream
            self._index.distrust()
            self._rewind()
        return False

    def _rewind(self) -> None:
        """Restart decoding at frame 0 by reopening, the one move every file supports."""
        self.close()
        self._open()

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decode frames until the end, skipping packets the decoder rejects."""
        damaged = False
        try:
            for packet in self._container.demux(self._stream):
                try:
                    yield from packet.decode()
                except _AV_ERRORS:
                    damaged = True
        except _AV_ERRORS:
            self._warn("reading stopped before the end: the file is truncated or damaged")
            with contextlib.suppress(*_AV_ERRORS):
                yield from self._stream.decode(None)  # the frames still in the decoder
        if damaged:
            self._warn("damaged packets were skipped: some frames may be missing")

    def _to_rgb(self, frame: av.VideoFrame, index: int) -> np.ndarray:
        """The frame as RGB, upright: at the video's size, or fitted (scaled while
        converting).

        A rotated frame is converted at the size that becomes the wanted one once
        turned, then turned as a view that the last step copies into place: a
        whole frame costs one extra copy, a fitted one at most a copy of the fitted
        size, and an unrotated one nothing.
        """
        width, height = self._size
        sideways = self._turns % 2 == 1
        shown = (frame.width, frame.height) if sideways else (frame.height, frame.width)
        plan, interpolation = None, None
        if self._fit is not None:
            plan = plan_fit(shown, *self._fit)
            height, width = plan.scaled if plan.decoder_scales else shown
            interpolation = "AREA" if plan.shrinking else "BILINEAR"
        elif shown != (height, width):
            self._warn(f"the frame size changes mid-stream; frames are scaled to {width}x{height}")
        if sideways:
            width, height = height, width
        try:
            rgb = self._reformatter.reformat(
                frame, width, height, format="rgb24", interpolation=interpolation,
                threads=SWSCALE_THREADS,
            ).to_ndarray()
        except _AV_ERRORS:
            raise VideoError(
                f"{self.path}: frame {index} is in pixel format {frame.format.name}, "
                "which cannot be converted to RGB"
            ) from None
        if self._turns:
            rgb = np.rot90(rgb, -self._turns)
        if plan is None:
            return np.ascontiguousarray(rgb)
        return plan.place(rgb) if plan.decoder_scales else plan.apply(rgb)


class _OpenCVCursor:
    """An OpenCV decoder: sequential only, so going back means reopening the file."""

    def __init__(
        self, info: VideoInfo, on_end: Callable[[int], None], fit: _Fit | None = None
    ) -> None:
        self.path = info.path
        self._fit = fit
        self._on_end = on_end
        self._capture = _open_capture(info.path)
        self._next = 0

    def close(self) -> None:
        self._capture.release()

    def get(self, index: int) -> np.ndarray | None:
        if index < self._next:
            self._capture.release()
            self._capture = _open_capture(self.path)
            self._next = 0
        while self._next < index:
            if not self._capture.grab():
                return self._end()
            self._next += 1
        ok, bgr = self._capture.read()
        if not ok:
            return self._end()
        self._next += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return rgb if self._fit is None else plan_fit(rgb.shape[:2], *self._fit).apply(rgb)

    def _end(self) -> None:
        self._on_end(self._next)
        return None
