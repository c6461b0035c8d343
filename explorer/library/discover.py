"""Finding the videos a library is made of: files named on the command line, and the video
files inside folders."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from explorer.errors import ExplorerError
from explorer.video.formats import VIDEO_SUFFIXES


def find_videos(inputs: Iterable[str | os.PathLike[str]], skip: Path | None = None) -> list[Path]:
    """Each video file named in ``inputs``, or found in a folder of them (and its
    subfolders, not following links nor entering hidden ones), once, in the order given
    and sorted by name within a folder; nothing under ``skip`` (the library's own folder).

    A missing path, a file that is not named like a video, or a folder holding none is a
    one-line error: a typo should not quietly make a smaller library.
    """
    found: dict[Path, None] = {}
    for given in inputs:
        path = Path(given).expanduser()
        if path.is_dir():
            videos = _videos_in(path, skip)
            if not videos:
                raise ExplorerError(f"no video files in {path} (looked for "
                                    f"{', '.join(VIDEO_SUFFIXES)}, in subfolders too)")
        elif path.is_file():
            if not is_video_name(path):
                raise ExplorerError(f"{path} is not named like a video (expected "
                                    f"{', '.join(VIDEO_SUFFIXES)})")
            videos = [path]
        elif os.path.lexists(path):
            raise ExplorerError(f"{path} is not a regular file or folder")
        else:
            raise ExplorerError(f"video or folder not found: {path}")
        found.update((video.resolve(), None) for video in videos)
    return list(found)


def is_video_name(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def _videos_in(folder: Path, skip: Path | None) -> list[Path]:
    skipped = skip.resolve() if skip is not None else None
    videos = []
    for root, folders, files in os.walk(folder):
        here = Path(root)
        folders[:] = sorted(name for name in folders if not name.startswith(".")
                            and (here / name).resolve() != skipped)
        videos += [here / name for name in sorted(files)
                   if not name.startswith(".") and is_video_name(Path(name))
                   and (here / name).is_file()]
    return videos
