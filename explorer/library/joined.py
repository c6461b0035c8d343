"""A library's videos joined into one trajectory, for clips across videos: keyframes may
come from different videos, and a side-by-side clip shows, beside each of its frames, the
nearest frame of whichever video holds it.

Video ``v``'s frame ``f`` is frame ``offsets[v] + f`` of the joined trajectory, whose frame
numbers so keep increasing: :func:`~explorer.latent.keyframes.keyframes_at_frames` and
:func:`~explorer.pipeline.export.shown_beside` work on it as on one video's.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from explorer.errors import ExplorerError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.library.catalog import LIBRARY_FILE, Library, load_video_trajectory
from explorer.library.parts import JoinedVideos, joined_videos
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


def is_library(path: Path) -> bool:
    """Whether ``path`` is a library's folder (it holds a ``library.json``)."""
    return Path(path).is_dir() and (Path(path) / LIBRARY_FILE).is_file()


def library_fingerprint(library: Library) -> str:
    """What a session remembers of a library: its model and its done videos' trajectories
    and contents. Encoding a video into it (or again) changes it."""
    digest = hashlib.sha256(library.model.key.encode())
    for _, video in library.done():
        digest.update(f"\0{video.trajectory}\0{video.fingerprint}\0{video.rows}".encode())
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class JoinedLibrary:
    library: Library
    trajectory: Trajectory
    """The joined trajectory; ``meta["library"]`` says which rows are which video's."""

    @cached_property
    def parts(self) -> JoinedVideos:
        return joined_videos(self.trajectory)

    @property
    def videos(self) -> tuple[int, ...]:
        """The library's index of each joined video (the done ones), in order."""
        return self.parts.indices

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
            number = int(self.parts.offsets[position]) + frame
            end = (self.parts.offsets[position + 1] if position + 1 < len(self.parts)
                   else None)
            if (end is not None and number >= end) or \
                    self.trajectory.row_of_frame(number) is None:
                raise ExplorerError(f"video {index} ({video.name}) has no frame {frame} in "
                                    f"the library: it has {video.frames} frames")
            joined.append(number)
        return joined

    def labelled(self, shown: Sequence[ShownFrame]) -> list[VideoFrame]:
        """``shown`` with labels that name each frame's video."""
        labelled = []
        for item in shown:
            position, local = self.parts.split(item.frame)
            labelled.append(VideoFrame(item.frame, item.exact, self.videos[position], local))
        return labelled


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
    meta = {key: first.meta[key] for key in ("latent_shape", "temporal", "frame_size",
                                             "fit_mode") if key in first.meta}
    meta["library"] = {"folder": str(Path(folder).resolve()),
                       "videos": [index for index, _ in done],
                       "names": [video.name for _, video in done],
                       "fps": [video.fps for _, video in done], "offsets": offsets}
    meta["video"] = {"path": str(Path(folder).resolve()), "fps": done[0][1].fps,
                     "fingerprint": library_fingerprint(library)}
    meta["model"] = {"path": library.model.path, "sha256": library.model.identity}
    psnr = None if any(piece.psnr_db is None for piece in pieces) else joined("psnr_db")
    trajectory = Trajectory(
        mu=joined("mu"), logvar=joined("logvar"), frame_index=joined("frame_index", True),
        time_s=joined("time_s"), meta=meta, psnr_db=psnr,
        last_frame=None if first.last_frame is None else joined("last_frame", True),
    )
    return JoinedLibrary(library, trajectory)


def rejoin_library(folder: Path, library: Library, trajectory: Trajectory) -> JoinedLibrary:
    """A joined trajectory saved earlier (in a session) with the library it came from, once
    the library still holds each of its videos, done."""
    parts = joined_videos(trajectory)
    if parts is None:
        raise ExplorerError(f"the trajectory saved for {folder} is not a library's")
    for index, name in zip(parts.indices, parts.names, strict=True):
        if index >= len(library.videos) or library.videos[index].status != "done" or \
                library.videos[index].name != name:
            raise ExplorerError(f"the library {folder} no longer holds {name} as it did")
    return JoinedLibrary(library, trajectory)


class LibraryFrames:
    """Frames of a joined library's videos by joined frame number: each video is opened
    when first needed, and the least recently used closed beyond :data:`OPEN_READERS`."""

    def __init__(self, joined: JoinedLibrary) -> None:
        self._joined = joined
        self._readers: OrderedDict[int, VideoReader] = OrderedDict()

    def frame(self, joined: int) -> np.ndarray:
        """Joined frame ``joined``; a video that is gone or changed is a one-line error."""
        position, frame = self._joined.parts.split(joined)
        reader = self._readers.get(position)
        if reader is None:
            reader = self._readers[position] = self._open(position)
            if len(self._readers) > OPEN_READERS:
                self._readers.popitem(last=False)[1].close()
        self._readers.move_to_end(position)
        return reader.frame(frame)

    def _open(self, position: int) -> VideoReader:
        """A joined video, once it is known to be the one encoded (a library's videos are
        read where they were when encoded)."""
        video = self._joined.library.videos[self._joined.videos[position]]
        path = Path(video.path)
        if not path.exists():
            raise ExplorerError(f"the library's video {path} was not found")
        if file_fingerprint(path) != video.fingerprint:
            raise ExplorerError(f"the library's video {path} changed since it was encoded: "
                                "encode the library again to see its frames")
        return open_video(path)

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self) -> LibraryFrames:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
