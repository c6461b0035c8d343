"""``library.json``: the index of a library, listing every video, how it went and where its
trajectory is.

A library may come from anywhere (a shared drive, a colleague), so the file is read like
every other: bounded in size and depth, checked field by field against :class:`Library`
(one line naming the field when it is wrong), and the trajectory names it holds are plain
names inside the library's folder, so it cannot point elsewhere. It is written atomically,
after each video finishes, so an interrupted run leaves every finished video listed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from explorer.arrays import open_regular
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output
from explorer.latent.trajectory import MAX_FRAME, Size, Trajectory
from explorer.pipeline.recipe import FileName
from explorer.schema import MAX_JSON_BYTES, FiniteFloat, Open, Strict, Text, parse_json, validate

LIBRARY_FILE = "library.json"
FORMAT = "latent-explorer-library"
VERSION = 2
"""2 added the shared map's UMAP (``MapEntry.umap``): an app that reads only 1 says to
update rather than refusing an unknown field."""
MAX_VIDEOS = 10_000
"""Videos in one library: their entries fill about half of the largest JSON document the
app reads (:data:`~explorer.schema.MAX_JSON_BYTES`)."""

MAX_WARNINGS = 16
"""A video's reader warnings kept in the library (the first ones)."""
MAX_REASON = 4096

Count = Annotated[int, Field(ge=1, le=MAX_FRAME)]
Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON)]


class VideoEntry(Strict):
    """One video of the library: done (its trajectory is in the folder) or failed (why)."""

    path: Text
    """The video, resolved when it was encoded."""
    status: Literal["done", "failed"]
    fingerprint: Text | None = None
    """:func:`~explorer.fileio.file_fingerprint` of the video encoded; None when the file
    could not be read."""
    reason: Reason | None = None
    """Why it failed, in one line."""
    frames: Count | None = None
    """Frames the trajectory covers."""
    rows: Count | None = None
    """Rows of the trajectory: frames, or a video autoencoder's latent steps."""
    fps: Annotated[FiniteFloat, Field(gt=0, le=10_000)] | None = None
    trajectory: FileName | None = None
    """The trajectory's file in the library's folder. A failed video keeps its name
    reserved (the file is not there), so that encoding it again writes the same one."""
    warnings: list[Text] = Field(default_factory=list, max_length=MAX_WARNINGS)

    @model_validator(mode="after")
    def _complete(self) -> VideoEntry:
        if self.status == "done":
            missing = [name for name in ("fingerprint", "frames", "rows", "fps", "trajectory")
                       if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a done video needs {', '.join(missing)}")
        elif self.reason is None:
            raise ValueError("a failed video needs a reason")
        return self

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def duration_s(self) -> float:
        return (self.frames or 0) / (self.fps or 1.0)


class ModelEntry(Strict):
    """The model every video was encoded with: one library, one latent space."""

    path: Text
    """:func:`~explorer.model.identity.model_location`."""
    identity: Text | None
    """:func:`~explorer.model.identity.model_identity`; None for a plugin, which is known
    only by its name."""
    latent_shape: Annotated[list[Size], Field(min_length=1, max_length=8)] | None = None
    """Known once a worker has opened the model."""

    @property
    def key(self) -> str:
        """What must match for a library to be continued with a model."""
        return self.identity or f"code:{self.path}"


class CoveredVideo(Strict):
    trajectory: FileName
    fingerprint: Text


class MapEntry(Strict):
    """The shared map (:mod:`~explorer.library.shared_map`) and the videos it was fitted
    on, in its order: a video done since is placed on it by the map's forward projection."""

    kind: Literal["pca"]
    file: FileName
    videos: Annotated[list[CoveredVideo], Field(max_length=MAX_VIDEOS)]
    umap: FileName | None = None
    """The UMAP fitted on the same videos (on landmarks), when the library has one."""


class Library(Strict):
    """The whole of ``library.json``."""

    format: Literal["latent-explorer-library"]
    version: Literal[1, 2]
    model: ModelEntry
    videos: Annotated[list[VideoEntry], Field(max_length=MAX_VIDEOS)]
    shared_map: MapEntry | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Library:
        for field, values in (("path", [video.path for video in self.videos]),
                              ("trajectory", [video.trajectory for video in self.videos
                                              if video.trajectory is not None])):
            if len(set(values)) != len(values):
                raise ValueError(f"two videos have the same {field}")
        return self

    def done(self) -> list[tuple[int, VideoEntry]]:
        """The videos whose trajectories are in the folder, with their indices."""
        return [(index, video) for index, video in enumerate(self.videos)
                if video.status == "done"]

    def failed(self) -> list[VideoEntry]:
        return [video for video in self.videos if video.status == "failed"]

    def covered(self) -> list[CoveredVideo]:
        """The done videos as :class:`MapEntry` lists those it was fitted on."""
        return [CoveredVideo(trajectory=video.trajectory, fingerprint=video.fingerprint)
                for _, video in self.done()]

    def find(self, token: str) -> int:
        """The index of the video ``token`` names: its index in ``explorer info``, its file
        name, or its path."""
        if token.isdigit():
            index = int(token)
            if index >= len(self.videos):
                raise ExplorerError(f"the library has no video {index} (it has "
                                    f"{len(self.videos)}: 0 to {len(self.videos) - 1})")
            return index
        matches = [index for index, video in enumerate(self.videos)
                   if token in (video.name, video.path)]
        if not matches:
            raise ExplorerError(f"the library has no video named {token!r} (explorer info "
                                "LIB lists them)")
        if len(matches) > 1:
            raise ExplorerError(f"{len(matches)} videos of the library are named {token!r}: "
                                f"give its index ({', '.join(map(str, matches))})")
        return matches[0]


class _Header(Open):
    format: Literal["latent-explorer-library"]
    version: Annotated[int, Field(ge=1)]


def new_library(model: ModelEntry) -> Library:
    return Library(format=FORMAT, version=VERSION, model=model, videos=[])


def library_file(path: str | os.PathLike[str]) -> Path:
    """The ``library.json`` of the library folder ``path`` (or ``path`` when it is one)."""
    path = Path(path).expanduser()
    if path.name == LIBRARY_FILE and path.is_file():
        return path
    if not path.exists():
        raise ExplorerError(f"library not found: {path}")
    if not path.is_dir():
        raise ExplorerError(f"{path} is not a library: give its folder")
    if not (path / LIBRARY_FILE).exists():
        raise ExplorerError(f"{path} is not a library: it has no {LIBRARY_FILE} (make one "
                            "with explorer library encode)")
    return path / LIBRARY_FILE


def load_library(path: str | os.PathLike[str]) -> Library:
    """The checked ``library.json`` of the library at ``path`` (its folder)."""
    file, stream = open_regular(library_file(path), "library")
    with stream:
        text = stream.read(MAX_JSON_BYTES + 1)
    document = parse_json(text, str(file))
    version = validate(_Header, document, f"{file} is not a Latent Explorer library").version
    if version > VERSION:
        raise ExplorerError(f"{file} was written by a newer Latent Explorer (library version "
                            f"{version}; this app reads up to {VERSION}): update the app")
    return validate(Library, document, file)


def save_library(folder: Path, library: Library) -> None:
    """Write ``library.json`` into ``folder`` atomically, as this app's version."""
    document = library.model_copy(update={"version": VERSION}).model_dump(mode="json")
    text = json.dumps(document, indent=1, ensure_ascii=False)
    with atomic_output(folder / LIBRARY_FILE) as temp:
        temp.write_text(text + "\n", encoding="utf-8")


def load_video_trajectory(folder: Path, library: Library, index: int) -> Trajectory:
    """The trajectory of done video ``index``, checked against what the library says of it."""
    video = library.videos[index]
    if video.status != "done":
        raise ExplorerError(f"video {index} ({video.name}) of the library failed to encode "
                            f"({video.reason}); pick another")
    trajectory = Trajectory.load(folder / video.trajectory)
    shape = library.model.latent_shape
    if len(trajectory) != video.rows or (shape and math.prod(shape) != trajectory.mu.shape[1]):
        raise ExplorerError(f"{folder / video.trajectory} does not hold what {LIBRARY_FILE} "
                            "says of it; encode the library again with --overwrite")
    return trajectory
