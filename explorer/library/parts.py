"""Which rows of a library's joined trajectory are which video's (see
:mod:`explorer.library.joined`), read from the trajectory's own metadata: light enough for
the window's state to import at start-up."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.latent.keyframes import Keyframe
from explorer.latent.trajectory import Trajectory


@dataclass(frozen=True, eq=False)
class JoinedVideos:
    """Which video each row of a library's joined trajectory comes from, as its
    ``meta["library"]`` (:class:`~explorer.latent.trajectory.JoinedMeta`) records: what the
    window needs to colour, hide, label and scrub the videos, with or without the library's
    files at hand."""

    folder: Path
    indices: tuple[int, ...]
    """The library's index of each joined video, in order."""
    names: tuple[str, ...]
    fps: tuple[float, ...]
    offsets: np.ndarray
    """[V] the joined frame number of each video's frame 0."""
    row_video: np.ndarray
    """[N] the position (in :attr:`indices`) of each row's video."""
    first_rows: np.ndarray
    """[V + 1] each video's first row, and then the number of rows."""

    def __len__(self) -> int:
        return len(self.indices)

    def rows_of(self, position: int) -> tuple[int, int]:
        """The first row of video ``position`` and the row after its last."""
        return int(self.first_rows[position]), int(self.first_rows[position + 1])

    def split(self, joined: int) -> tuple[int, int]:
        """The position of the video holding joined frame ``joined``, and its own frame."""
        position = max(0, bisect.bisect_right(self.offsets.tolist(), joined) - 1)
        return position, joined - int(self.offsets[position])

    def pairs(self, joined: Sequence[int]) -> str:
        """``0:10,2:40``: joined frame numbers as VIDEO:FRAME, the video by its index in
        the library (as ``explorer export --library`` takes them)."""
        return ",".join(f"{self.indices[position]}:{frame}"
                        for position, frame in map(self.split, joined))

    def recipe_keyframes(self, keyframes: Sequence[Keyframe]) -> list[Keyframe]:
        """Keyframes as a clip's recipe records them: each frame its own video's (the
        videos are in :meth:`recipe_settings`)."""
        return [Keyframe(keyframe.latent,
                         None if keyframe.frame is None else self.split(keyframe.frame)[1])
                for keyframe in keyframes]

    def recipe_settings(self, keyframes: Sequence[Keyframe]) -> dict[str, str]:
        """What a clip's recipe adds about the library its keyframes come from."""
        frames = [keyframe.frame for keyframe in keyframes if keyframe.frame is not None]
        return {"library": str(self.folder), "library_keyframes": self.pairs(frames)}

    def label(self, joined: int) -> str:
        """"bikes.mp4, frame 12": joined frame ``joined`` as the user knows it."""
        position, frame = self.split(joined)
        return f"{self.names[position]}, frame {frame}"


def joined_videos(trajectory: Trajectory) -> JoinedVideos | None:
    """The videos of a library's joined trajectory; None for one video's trajectory."""
    meta = trajectory.meta.get("library")
    if not meta:
        return None
    offsets = np.asarray(meta["offsets"], np.int64)
    row_video = np.searchsorted(offsets, trajectory.frame_index, side="right") - 1
    first_rows = np.searchsorted(row_video, np.arange(len(offsets) + 1))
    return JoinedVideos(Path(meta["folder"]), tuple(meta["videos"]), tuple(meta["names"]),
                        tuple(float(fps) for fps in meta["fps"]), offsets, row_video,
                        first_rows)
