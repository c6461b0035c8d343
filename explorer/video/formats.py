"""The clip formats and resize filters, by name, and the names of video files: the one
vocabulary the reader, the writer, the command line and the dialogs share. Light to
import (no OpenCV, no FFmpeg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, NamedTuple, get_args

from explorer.errors import VideoError

ClipFormat = Literal["mp4", "webm", "gif", "png"]
ResizeFilter = Literal["lanczos", "bicubic", "bilinear", "nearest"]

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".ts", ".gif")
"""How the video files the reader opens are commonly named: what the Open Video dialog
lists and a library's folders are searched for (any other file may still open)."""

RESIZE_FILTERS: tuple[ResizeFilter, ...] = get_args(ResizeFilter)
"""The filters that scale frames, best (and slowest) first, as menus list them."""


class ClipFormatInfo(NamedTuple):
    label: str
    """What a menu calls the format."""
    suffix: str
    """How an output path of the format ends: an extension, or ``/`` for a folder."""


CLIP_FORMATS: dict[ClipFormat, ClipFormatInfo] = {
    "mp4": ClipFormatInfo("MP4 video, H.264 (plays everywhere)", ".mp4"),
    "webm": ClipFormatInfo("WebM video, VP9", ".webm"),
    "gif": ClipFormatInfo("Animated GIF (loops)", ".gif"),
    "png": ClipFormatInfo("Folder of PNG frames", "/"),
}
"""Every clip format, in the order menus list them; the formats' names are its keys."""
CLIP_EXTENSIONS: dict[str, ClipFormat] = {
    info.suffix: fmt for fmt, info in CLIP_FORMATS.items() if info.suffix != "/"
}
"""The file formats by extension (lower case, with the dot)."""


def format_for_path(path: str | os.PathLike[str]) -> ClipFormat:
    """The clip format a path asks for: by extension, or ``"png"`` for a folder.

    A path names a folder when it ends with a slash or is an existing folder.
    """
    text = os.fspath(path)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return "png"
    fmt = CLIP_EXTENSIONS.get(Path(text).suffix.lower())
    if fmt is None:
        *others, last = CLIP_EXTENSIONS
        raise VideoError(
            f"cannot tell the clip format of {text}: use a name ending in {', '.join(others)} "
            f"or {last}, or a folder path ending in / for PNG frames"
        )
    return fmt
