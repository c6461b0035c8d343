"""Video input and output: exact frame reading, fitting frames to a model, clip writing.

The names below are loaded when first used: ``explorer.video.formats`` (the clip formats'
vocabulary) must stay light to import, and PyAV and OpenCV take a while.
"""

import importlib
import os
from typing import Any

# OpenCV's FFmpeg prints decoder complaints straight to stderr; errors reach users as
# one-line messages instead. Set before OpenCV opens its first video.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

_HOMES = {
    "FitMode": "fitting",
    "fit_frames": "fitting",
    "FrameIndexError": "reader",
    "VideoInfo": "reader",
    "VideoReader": "reader",
    "open_video": "reader",
    "probe_video": "reader",
    "ClipFormat": "formats",
    "format_for_path": "formats",
    "ClipWriter": "writer",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'explorer.video' has no attribute {name!r}")
    return getattr(importlib.import_module(f"explorer.video.{_HOMES[name]}"), name)
