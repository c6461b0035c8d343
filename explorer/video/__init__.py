"""Video input and output: exact frame reading, fitting frames to a model, clip writing."""

import os

# OpenCV's FFmpeg prints decoder complaints straight to stderr; errors reach users as
# one-line messages instead. Set before OpenCV opens its first video.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from explorer.video.fitting import FitMode, fit_frames
from explorer.video.reader import (
    FrameIndexError,
    VideoInfo,
    VideoReader,
    open_video,
    probe_video,
)
from explorer.video.writer import ClipFormat, ClipWriter, format_for_path

__all__ = [
    "ClipFormat",
    "ClipWriter",
    "FitMode",
    "FrameIndexError",
    "VideoInfo",
    "VideoReader",
    "fit_frames",
    "format_for_path",
    "open_video",
    "probe_video",
]
