"""Write clips of RGB frames as MP4 (H.264), WebM (VP9), looping GIF or a PNG folder.

Output goes to a hidden temporary name beside the target and is renamed into place
only when the clip is complete, so a cancelled or crashed export never leaves a
broken file under the chosen name, and an existing file is only ever replaced whole.
"""

from __future__ import annotations

import contextlib
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import av.filter
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from explorer import interrupts
from explorer.errors import VideoError, describe_error
from explorer.fileio import (
    atomic_output,
    check_file_target,
    check_name_length,
    commit_output,
    discard_temp,
    reserve_temp,
)
from explorer.video.background import BackgroundConsumer
from explorer.video.formats import CLIP_EXTENSIONS as CLIP_EXTENSIONS
from explorer.video.formats import CLIP_FORMATS as CLIP_FORMATS
from explorer.video.formats import RESIZE_FILTERS as RESIZE_FILTERS
from explorer.video.formats import ClipFormat, ResizeFilter
from explorer.video.formats import format_for_path as format_for_path
from explorer.video.reader import SWSCALE_THREADS

_PNG_NAME = "{:06d}.png"
PNG_RECIPE_NAMES = ("latents.npy", "clip.json")
"""What an export saves beside its PNG frames: a folder of frames and these is one of ours."""
_MAX_QUALITY = 51  # the x264 CRF scale: 0 is (near) lossless, 51 the worst
_VP9_MAX_CRF = 63
# FFmpeg's AVCOL_SPC_BT709, AVCOL_PRI_BT709 and AVCOL_TRC_BT709 all have the value 1,
# as does AVCOL_RANGE_MPEG (limited range); plain ints work with every PyAV version.
_BT709 = 1
_LIMITED_RANGE = 1
_QUEUE_BYTES = 64 << 20
"""At most this many bytes of prepared frames wait for the encoder thread."""
_QUEUE_FRAMES = 32
# Each filter as OpenCV and FFmpeg's swscale name it: one row per RESIZE_FILTERS entry.
_CV2_FILTERS: dict[ResizeFilter, int] = {
    "lanczos": cv2.INTER_LANCZOS4,
    "bicubic": cv2.INTER_CUBIC,
    "bilinear": cv2.INTER_LINEAR,
    "nearest": cv2.INTER_NEAREST,
}
_SWSCALE_FILTERS: dict[ResizeFilter, str] = {
    "lanczos": "LANCZOS",
    "bicubic": "BICUBIC",
    "bilinear": "BILINEAR",
    "nearest": "POINT",
}


def resize_frame(
    frame: np.ndarray, size: tuple[int, int], resize_filter: ResizeFilter
) -> np.ndarray:
    """``frame`` scaled to ``size`` = (width, height) with ``resize_filter``."""
    if frame.shape[1::-1] == size:
        return frame
    return cv2.resize(frame, size, interpolation=_CV2_FILTERS[resize_filter])


class ClipWriter:
    """Write frames one by one into a clip; use as a context manager.

    ``format`` defaults to :func:`format_for_path`. ``quality`` is on the x264 CRF
    scale (0 best, 51 worst; 23 looks good) and is mapped to the equivalent VP9 setting
    for WebM; GIF and PNG ignore it. ``size`` = (width, height) fixes the clip's size,
    and frames of another size are scaled to it with ``resize_filter`` (for MP4 and WebM
    within the conversion to YUV, one pass instead of two); without it, the first frame
    fixes the size. H.264 needs even frame sizes, so an MP4 of odd-sized frames repeats
    their last row or column once. Leaving the ``with`` block normally finishes the clip;
    leaving it by an exception (:class:`~explorer.errors.Cancelled` included) discards it.

    :meth:`write` converts the frame in the calling thread and hands it to a thread that
    encodes (or saves) it, so converting the next frame overlaps with encoding this one:
    the encoder's own thread that feeds x264 is what limits a clip's speed. An error
    there is raised by a later :meth:`write` or by :meth:`close`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        format: ClipFormat | None = None,
        quality: int = 23,
        overwrite: bool = False,
        size: tuple[int, int] | None = None,
        resize_filter: ResizeFilter = "lanczos",
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        if not 0 <= quality <= _MAX_QUALITY:
            raise ValueError(f"quality must be 0 (best) to {_MAX_QUALITY} (worst), got {quality}")
        if format is not None and format not in CLIP_FORMATS:
            raise ValueError(f"format must be one of {', '.join(CLIP_FORMATS)}, got {format!r}")
        if size is not None and min(size) < 1:
            raise ValueError(f"size must be a positive (width, height), got {size}")
        if resize_filter not in RESIZE_FILTERS:
            raise ValueError(f"resize_filter must be one of {', '.join(RESIZE_FILTERS)}")
        self.path = Path(path).expanduser().absolute()
        self.format: ClipFormat = format or format_for_path(path)
        self.fps = _exact_rate(fps)
        self.quality = quality
        self.size = size
        self.resize_filter: ResizeFilter = resize_filter
        self.frames_written = 0
        self._overwrite = overwrite
        check_clip_target(self.path, overwrite, self.format)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._temp = reserve_temp(self.path, folder=self.format == "png")
        except OSError as exc:
            raise VideoError(f"cannot write to {self.path.parent}: {_reason(exc)}") from None
        self._sink: _Sink | None = None
        self._encoder: BackgroundConsumer | None = None
        self._done = False

    def __enter__(self) -> ClipWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB ``uint8`` frame ``[H, W, 3]``."""
        if self._done:
            raise ValueError(f"the writer for {self.path} is already closed")
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(
                f"expected a uint8 RGB frame [H, W, 3], got {frame.dtype} {frame.shape}"
            )
        if self._sink is None:
            self._sink = self._open_sink(*(self.size or frame.shape[1::-1]))
            height, width = self._sink.shape
            depth = min(_QUEUE_FRAMES, _QUEUE_BYTES // (3 * width * height))
            self._encoder = BackgroundConsumer(self._sink.consume, depth, "clip-encoder")
        elif self.size is None and frame.shape[:2] != self._sink.shape:
            raise ValueError(
                f"frame size changed from {self._sink.shape[::-1]} to {frame.shape[1::-1]} "
                "(width, height); all frames of a clip must have the size of the first"
            )
        if frame.shape[:2] != self._sink.shape and not self._sink.scales:
            frame = resize_frame(frame, self._sink.shape[::-1], self.resize_filter)
        try:
            self._encoder.put(self._sink.prepare(frame))
        except _WRITE_ERRORS as exc:
            raise VideoError(f"cannot write {self.path}: {_reason(exc)}") from None
        self.frames_written += 1

    def close(self) -> None:
        """Finish the clip and move it into place; on failure nothing is left behind."""
        if self._done:
            return
        if self._sink is None:
            self.abort()
            raise VideoError(f"no frames to write to {self.path}")
        try:
            self._encoder.finish()
            self._sink.close()
            interrupts.check()  # the last moment to stop before the target is replaced
            commit_output(self._temp, self.path, self._overwrite)
        except _WRITE_ERRORS as exc:
            self.abort()
            raise VideoError(f"cannot write {self.path}: {_reason(exc)}") from None
        except BaseException:  # a bug or Ctrl-C: still leave nothing behind
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Discard the clip, leaving whatever was at the target untouched."""
        if self._done:
            return
        self._done = True
        if self._encoder is not None:
            self._encoder.cancel()
        if self._sink is not None:
            self._sink.discard()
        discard_temp(self._temp)

    def _open_sink(self, width: int, height: int) -> _Sink:
        try:
            if self.format == "png":
                return _PNGSink(self._temp, width, height)
            if self.format == "gif":
                return _GIFSink(self._temp, width, height, self.fps)
            return _EncoderSink(
                self._temp, self.format, (width, height), self.fps, self.quality, self.resize_filter
            )
        except _WRITE_ERRORS as exc:
            raise VideoError(f"cannot write {self.path}: {_reason(exc)}") from None


def _exact_rate(fps: float) -> Fraction:
    """The exact rational frame rate meant by ``fps``.

    ``29.97`` means NTSC's 30000/1001 (likewise 23.976 and 59.94); other rates are
    the simplest fraction with a denominator up to 1001, so 25.0 stays 25.
    """
    ntsc = Fraction(round(fps * 1001 / 1000) * 1000, 1001)
    if ntsc.denominator != 1 and abs(fps - ntsc) < 5e-3:
        return ntsc
    return Fraction(fps).limit_denominator(1001)


# Errors that mean the output could not be written (disk full, permissions, encoder).
_WRITE_ERRORS = (av.FFmpegError, OSError)


def _reason(exc: BaseException) -> str:
    """Why writing failed; the messages around it name the file."""
    return describe_error(exc, with_file=False)


def check_clip_target(
    path: str | os.PathLike[str], overwrite: bool, fmt: ClipFormat | None = None
) -> None:
    """Refuse targets that cannot or may not be replaced, or whose names are too long.

    ``fmt`` defaults to :func:`format_for_path`.
    """
    fmt = fmt or format_for_path(path)
    path = Path(os.fspath(path).rstrip("/" + os.sep)).expanduser().absolute()
    check_name_length(path)
    if fmt == "png":
        if path.is_file():
            raise VideoError(f"{path} is a file; PNG frames need a folder path")
        if path.is_dir() and any(path.iterdir()):
            if not _only_frames(path):
                raise VideoError(
                    f"{path} holds files other than numbered frames; choose a new or empty folder"
                )
            if not overwrite:
                raise VideoError(f"{path} already holds frames; pass --overwrite to replace them")
        return
    check_file_target(path, overwrite, f"choose a file name ending in .{fmt}", VideoError)


def _only_frames(folder: Path) -> bool:
    """Whether ``folder`` holds nothing but numbered PNG frames (and their recipe) like ours."""
    return all(
        entry.is_file()
        and ((entry.suffix == ".png" and entry.stem.isdigit()) or entry.name in PNG_RECIPE_NAMES)
        for entry in folder.iterdir()
    )


# -- sinks: one per output format ----------------------------------------------------


class _Sink(Protocol):
    """Writes a frame in two steps: :meth:`prepare` in the caller's thread, then
    :meth:`consume` in the encoder thread, in order."""

    shape: tuple[int, int]
    """The frame (height, width) this sink accepts."""
    scales: bool
    """Whether it also takes frames of other sizes, and scales them itself."""

    def prepare(self, frame: np.ndarray) -> object: ...

    def consume(self, prepared: object) -> None: ...

    def close(self) -> None:
        """Finish the output, once every prepared frame has been consumed."""
        ...

    def discard(self) -> None:
        """Stop without finishing the output, ignoring errors."""
        ...


class _EncoderSink:
    """H.264 in MP4 or VP9 in WebM, 4:2:0, tagged BT.709 so players show true colours."""

    def __init__(
        self,
        temp: Path,
        fmt: ClipFormat,
        size: tuple[int, int],
        fps: Fraction,
        quality: int,
        resize_filter: ResizeFilter,
    ) -> None:
        width, height = size
        self.shape = (height, width)
        # x264's 4:2:0 needs even sizes: odd frames get their last row/column repeated.
        self._pad = (height % 2, width % 2) if fmt == "mp4" else (0, 0)
        self.scales = not any(self._pad)
        self._interpolation = _SWSCALE_FILTERS[resize_filter]
        self._reformatter = VideoReformatter()  # VideoFrame.reformat sets one up per frame
        if fmt == "mp4":
            codec, container_options = "libx264", {"movflags": "+faststart"}
            options = {"crf": str(quality), "preset": "medium"}
        else:
            codec, container_options = "libvpx-vp9", {}
            crf = round(quality * _VP9_MAX_CRF / _MAX_QUALITY)
            options = {"crf": str(crf), "b": "0", "row-mt": "1", "cpu-used": "4"}
        self._container = av.open(str(temp), "w", format=fmt, options=container_options)
        self._stream = self._container.add_stream(codec, rate=fps, options=options)
        self._coded_size = (width + self._pad[1], height + self._pad[0])
        self._stream.width, self._stream.height = self._coded_size
        self._stream.pix_fmt = "yuv420p"
        codec_context = self._stream.codec_context
        codec_context.colorspace = codec_context.color_primaries = _BT709
        codec_context.color_trc = _BT709
        codec_context.color_range = _LIMITED_RANGE
        self._time_base = 1 / fps
        self._pts = 0

    def prepare(self, frame: np.ndarray) -> av.VideoFrame:
        if any(self._pad):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        rgb = av.VideoFrame.from_ndarray(frame, format="rgb24")
        yuv = self._reformatter.reformat(
            rgb,
            *self._coded_size,
            "yuv420p",
            dst_colorspace=_BT709,
            interpolation=self._interpolation,
            dst_color_range=_LIMITED_RANGE,
            threads=SWSCALE_THREADS,
        )
        yuv.pts, yuv.time_base = self._pts, self._time_base
        self._pts += 1
        return yuv

    def consume(self, prepared: av.VideoFrame) -> None:
        self._container.mux(self._stream.encode(prepared))

    def close(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def discard(self) -> None:
        with contextlib.suppress(_WRITE_ERRORS):
            self._container.close()


class _GIFSink:
    """A looping GIF with one palette built from all frames (ffmpeg's palettegen).

    The palette needs every frame, so frames wait in the filter graph until close.
    """

    scales = False

    def __init__(self, temp: Path, width: int, height: int, fps: Fraction) -> None:
        self.shape = (height, width)
        self._time_base = 1 / fps
        self._graph = _palette_graph(width, height, self._time_base)
        self._container = av.open(str(temp), "w", format="gif", options={"loop": "0"})
        self._stream = self._container.add_stream("gif", rate=fps)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "pal8"
        self._pts = 0

    def prepare(self, frame: np.ndarray) -> av.VideoFrame:
        rgb = av.VideoFrame.from_ndarray(frame, format="rgb24")
        rgb.pts, rgb.time_base = self._pts, self._time_base
        self._pts += 1
        return rgb

    def consume(self, prepared: av.VideoFrame) -> None:
        self._graph.push(prepared)

    def close(self) -> None:
        self._graph.push(None)
        while True:
            try:
                paletted = self._graph.pull()
            except av.error.EOFError:
                break
            self._container.mux(self._stream.encode(paletted))
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def discard(self) -> None:
        with contextlib.suppress(_WRITE_ERRORS):
            self._container.close()


def _palette_graph(width: int, height: int, time_base: Fraction) -> av.filter.Graph:
    """``split -> palettegen -> paletteuse``: frames in, dithered pal8 frames out."""
    graph = av.filter.Graph()
    source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=time_base)
    split = graph.add("split")
    palettegen = graph.add("palettegen", "stats_mode=full")
    paletteuse = graph.add("paletteuse", "dither=sierra2_4a")
    source.link_to(split)
    split.link_to(palettegen, 0, 0)
    split.link_to(paletteuse, 1, 0)
    palettegen.link_to(paletteuse, 0, 1)
    paletteuse.link_to(graph.add("buffersink"))
    graph.configure()
    return graph


class _PNGSink:
    """Numbered PNG files: ``000000.png``, ``000001.png``, ..."""

    scales = False

    def __init__(self, folder: Path, width: int, height: int) -> None:
        self.shape = (height, width)
        self._folder = folder
        self._count = 0

    def prepare(self, frame: np.ndarray) -> tuple[Path, np.ndarray]:
        target = self._folder / _PNG_NAME.format(self._count)
        self._count += 1
        return target, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)

    def consume(self, prepared: tuple[Path, np.ndarray]) -> None:
        target, bgr = prepared
        if not cv2.imwrite(str(target), bgr):
            raise OSError(f"could not save {target.name}")

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass


def write_png(path: str | os.PathLike[str], image: np.ndarray, overwrite: bool) -> Path:
    """One RGB ``image`` [H, W, 3] uint8 as a PNG file, written atomically (a figure, a
    traversal grid); clips of PNG frames are :class:`ClipWriter`'s."""
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise VideoError(f"could not encode {path} as PNG")
    with atomic_output(path, overwrite=overwrite) as temp:
        temp.write_bytes(encoded.tobytes())
    return Path(path)
