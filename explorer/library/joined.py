"""A library's videos joined into one trajectory, for clips across videos: keyframes may
come from different videos, and a side-by-side clip shows, beside each of its frames, the
nearest frame of whichever video holds it.

Video ``v``'s frame ``f`` is frame ``offsets[v] + f`` of the joined trajectory, whose frame
numbers so keep increasing: :func:`~explorer.latent.keyframes.keyframes_at_frames` and
:func:`~explorer.pipeline.export.shown_beside` work on it as on one video's.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import ExplorerError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.library.catalog import Library, load_video_trajectory
from explorer.pipeline.export import ShownFrame
from explorer.video.reader import VideoReader, open_video

OPEN_READERS = 4
"""Videos kept open at once while a side-by-side clip reads their frames."""


@dataclass(frozen=True)
class VideoFrame(ShownFrame):
    """A frame shown beside a clip across videos: ``frame`` is its joined number, which
    reads it; the label names the video (its index in ``explorer info``) and its frame."""

    video: int
    local: int

    @property
    def label(self) -> str:
        return f"{'' if self.exact else '~ '}video {self.video}, frame {self.local}"


@dataclass(frozen=True)
class JoinedLibrary:
    library: Library
    trajectory: Trajectory
    videos: list[int]
    """The library's index of each joined video (the done ones), in order."""
    offsets: list[int]
    """The joined frame number of each video's frame 0."""

    def joined_frames(self, keyframes: Sequence[tuple[str, int]]) -> list[int]:
        """Joined frame numbers for ``(video, frame)`` pairs, the video by its index or
        file name; a frame the video's trajectory does not hold is a one-line error."""
        joined = []
        for token, frame in keyframes:
            index = self.library.find(token)
            video = self.library.videos[index]
            if index not in self.videos:
                raise ExplorerError(f"video {index} ({video.name}) of the library failed to "
                                    f"encode ({video.reason}); pick another")
            position = self.videos.index(index)
            number = self.offsets[position] + frame
            end = (self.offsets[position + 1] if position + 1 < len(self.offsets)
                   else None)
            if (end is not None and number >= end) or \
                    self.trajectory.row_of_frame(number) is None:
                raise ExplorerError(f"video {index} ({video.name}) has no frame {frame} in "
                                    f"the library: it has {video.frames} frames")
            joined.append(number)
        return joined

    def split(self, joined: int) -> tuple[int, int]:
        """The position of the video holding joined frame ``joined``, and its own frame."""
        position = bisect.bisect_right(self.offsets, joined) - 1
        return position, joined - self.offsets[position]

    def labelled(self, shown: Sequence[ShownFrame]) -> list[VideoFrame]:
        """``shown`` with labels that name each frame's video."""
        labelled = []
        for item in shown:
            position, local = self.split(item.frame)
            labelled.append(VideoFrame(item.frame, item.exact, self.videos[position], local))
        return labelled

    def pairs(self, joined: Sequence[int]) -> str:
        """``0:10,2:40``: joined frame numbers as VIDEO:FRAME, the video by its index."""
        return ",".join(f"{self.videos[position]}:{frame}"
                        for position, frame in map(self.split, joined))


def join_library(folder: Path, library: Library) -> JoinedLibrary:
    """Every done video of the library at ``folder``, joined (see the module docstring)."""
    done = library.done()
    if not done:
        raise ExplorerError(f"{folder} has no encoded video yet")
    pieces = [load_video_trajectory(folder, library, index) for index, _ in done]
    offsets, start = [], 0
    for piece in pieces:
        offsets.append(start)
        last = piece.frame_index if piece.last_frame is None else piece.last_frame
        start += int(last[-1]) + 1

    def joined(name: str, shift: bool = False) -> np.ndarray:
        return np.concatenate([getattr(piece, name) + (offset if shift else 0)
                               for piece, offset in zip(pieces, offsets, strict=True)])

    first = pieces[0]
    meta = {key: first.meta[key] for key in ("latent_shape", "temporal") if key in first.meta}
    trajectory = Trajectory(
        mu=joined("mu"), logvar=joined("logvar"), frame_index=joined("frame_index", True),
        time_s=joined("time_s"), meta=meta,
        last_frame=None if first.last_frame is None else joined("last_frame", True),
    )
    return JoinedLibrary(library, trajectory, [index for index, _ in done], offsets)


class LibraryFrames:
    """Frames of a joined library's videos by joined frame number: each video is opened
    when first needed, and the least recently used closed beyond :data:`OPEN_READERS`."""

    def __init__(self, joined: JoinedLibrary) -> None:
        self._joined = joined
        self._readers: OrderedDict[int, VideoReader] = OrderedDict()

    def read(self, joined: int) -> np.ndarray:
        position, frame = self._joined.split(joined)
        reader = self._readers.get(position)
        if reader is None:
            reader = self._readers[position] = self._open(position)
            if len(self._readers) > OPEN_READERS:
                self._readers.popitem(last=False)[1].close()
        self._readers.move_to_end(position)
        return reader.frame(frame)

    def _open(self, position: int) -> VideoReader:
        """A joined video, once it is known to be the one encoded."""
        video = self._joined.library.videos[self._joined.videos[position]]
        path = Path(video.path)
        if not path.exists():
            raise ExplorerError(f"the side-by-side clip needs the library's video {path}, "
                                "which was not found")
        if file_fingerprint(path) != video.fingerprint:
            raise ExplorerError(f"the library's video {path} changed since it was encoded: "
                                "encode the library again for a side-by-side clip")
        return open_video(path)

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self) -> LibraryFrames:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
