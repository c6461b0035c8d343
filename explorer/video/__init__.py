"""Video input and output: exact frame reading, fitting frames to a model, clip writing."""

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
