"""A video's path through latent space, and its ``.npz`` file format.

File layout (``numpy.savez``, no pickles): ``mu`` [N, D] float32, ``logvar`` [N, D] float32,
``frame_index`` [N] int64, ``time_s`` [N] float64, ``embedding`` [N, 2] float32 and
``meta``, a JSON string (model, video, settings, projection, ``latent_shape`` when the
latent is not a flat vector). Optional: ``psnr_db`` [N] float32, each row's reconstruction
PSNR, when it was measured; ``last_frame`` [N] int64, for a temporal model only.

Rows are frames for a per-frame model, and latent steps for a temporal one (a video
autoencoder whose steps each cover several frames): row ``i`` then covers the video's
frames ``frame_index[i]`` to ``last_frame[i]``, and ``meta["temporal"]`` says how
(:class:`TemporalMeta`). Without ``last_frame`` each row covers exactly ``frame_index[i]``.

Latents of more than :data:`MAP_ABOVE_BYTES` are memory-mapped from the file when it is
opened (:meth:`Trajectory.load`), not read into memory.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from explorer.arrays import Spec, open_npz, open_regular
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output
from explorer.model.video_vae.rule import FrameRule
from explorer.schema import FiniteFloat, Name, Open, Settings, Text, parse_json, validate

TRAJECTORY_SUFFIX = ".npz"
"""How a trajectory file is named: the window (and ``explorer TRAJ.npz``) opens one as a
trajectory, browsed with or without its video."""

ARRAY_SPECS = {
    "mu": Spec("f", ("N", "D")),
    "logvar": Spec("f", ("N", "D")),
    "frame_index": Spec("iu", ("N",)),
    "time_s": Spec("f", ("N",)),
    "psnr_db": Spec("f", ("N",), required=False),
    "last_frame": Spec("iu", ("N",), required=False),
}
"""The arrays of a trajectory, in a trajectory file and in a session."""

_FILE_SPECS = {**ARRAY_SPECS, "embedding": Spec("f", ("N", 2)), "meta": Spec("U", ())}
MAP_ABOVE_BYTES = 64 << 20
"""A file's ``mu`` and ``logvar`` of more bytes than this together (a million frames of 16
latents are 128 MB) are memory-mapped (float32, as :meth:`Trajectory.save` writes them)
rather than read: a long video's image-shaped latents (16,384 numbers a frame at 512 px)
are gigabytes, of which decoding a frame reads one row, and the pages read can be dropped
again. Smaller files are read whole (a mapped file cannot be replaced on Windows while it
is open)."""
_MAPPABLE = ("mu", "logvar")
_FINITE_CHUNK = 1 << 22  # values checked at a time: no mask as large as the latents

Size = Annotated[int, Field(ge=1, le=1 << 20)]
MAX_FRAME = 2**53
"""Frame numbers a float64 holds exactly."""
FrameNumber = Annotated[int, Field(ge=0, le=MAX_FRAME)]


class VideoMeta(Open):
    path: Text | None = None
    fps: Annotated[FiniteFloat, Field(gt=0, le=10_000)] | None = None
    fingerprint: Text | None = None
    warnings: Annotated[list[Text], Field(max_length=256)] | None = None


class ModelMeta(Open):
    path: Text | None = None
    sha256: Text | None = None


class TemporalMeta(Open):
    """How the rows of a temporal model's trajectory cover frames."""

    stride: Annotated[int, Field(ge=1, le=1024)]
    """Frames a latent step covers (after the first, when ``causal_first_frame``)."""
    causal_first_frame: bool
    """The video's (or encoded range's) first step covers its first frame alone."""
    rule: Text
    """The frame rule in one sentence."""
    windows: Annotated[list[Annotated[list[FrameNumber], Field(min_length=2, max_length=2)]],
                       Field(max_length=1 << 20)]
    """``[first_step, start_frame]`` of each window the video was encoded in: rows
    ``first_step`` on (to the next window's) came from encoding the frames from video
    frame ``start_frame``, whose first steps were context, dropped. Rows just after a
    window's start differ most from what encoding the whole video at once would give."""
    window_steps: Size | None = None
    context_steps: Annotated[int, Field(ge=0, le=1 << 20)] | None = None


class JoinedMeta(Open):
    """The videos a library's trajectory is joined from (``explorer.library.joined``):
    video ``i`` is the library's video ``videos[i]``, named ``names[i]``, played at
    ``fps[i]``, and its frame ``f`` is the joined trajectory's frame ``offsets[i] + f``."""

    folder: Text
    """The library's folder."""
    videos: Annotated[list[Annotated[int, Field(ge=0, le=1 << 20)]],
                      Field(min_length=1, max_length=1 << 20)]
    names: list[Text]
    fps: list[Annotated[FiniteFloat, Field(gt=0, le=10_000)]]
    offsets: list[FrameNumber]

    @model_validator(mode="after")
    def _consistent(self) -> JoinedMeta:
        count = len(self.videos)
        if not len(self.names) == len(self.fps) == len(self.offsets) == count:
            raise ValueError("videos, names, fps and offsets must be as long as each other")
        if self.offsets[0] != 0 or np.any(np.diff(self.offsets) <= 0):
            raise ValueError("offsets must start at 0 and increase")
        return self


class TrajectoryMeta(Open):
    """The JSON ``meta`` of a trajectory: what code reads from it is typed and bounded."""

    video: VideoMeta | None = None
    model: ModelMeta | None = None
    selection: Settings | None = None
    fit_mode: Name | None = None
    latent_shape: Annotated[list[Size], Field(min_length=1, max_length=8)] | None = None
    frame_size: Annotated[list[Size], Field(min_length=2, max_length=2)] | None = None
    projection: Settings | None = None
    temporal: TemporalMeta | None = None
    library: JoinedMeta | None = None


def check_meta(meta: Any, width: int, source: str, error: type[ExplorerError],
               what: str = "meta") -> dict[str, Any]:
    """``meta`` as a dict, once it is a valid :class:`TrajectoryMeta` whose latent shape
    holds the ``width`` numbers of each row of ``mu``."""
    latent_shape = validate(TrajectoryMeta, meta, source, error, what).latent_shape
    if latent_shape is not None and math.prod(latent_shape) != width:
        raise error(f"{source}: {what}.latent_shape: {latent_shape} does not hold the {width} "
                    "numbers of each row of mu")
    return meta


@dataclass(frozen=True, eq=False)  # equal only to itself: arrays have no one truth value
class Trajectory:
    """One video's latents, row by row: a row per frame, or per latent step of a temporal
    model (see the module docstring). Never changed once encoded: a new layout or new
    metadata makes a new value (:meth:`with_meta`, :meth:`with_embedding`), so the window,
    the inference worker and the autosave thread can share one safely."""

    mu: np.ndarray
    logvar: np.ndarray
    frame_index: np.ndarray
    time_s: np.ndarray
    embedding: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    psnr_db: np.ndarray | None = None
    last_frame: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.mu)

    @property
    def is_temporal(self) -> bool:
        """Whether rows are latent steps that may each cover several frames."""
        return self.last_frame is not None

    @property
    def frame_rule(self) -> FrameRule | None:
        """How a temporal model's steps cover frames (None for one row a frame)."""
        temporal = self.meta.get("temporal") if self.is_temporal else None
        if not temporal:
            return None
        return FrameRule(int(temporal["stride"]), bool(temporal["causal_first_frame"]))

    def frames_of(self, row: int) -> tuple[int, int]:
        """The first and last video frame row ``row`` covers (the same for a per-frame
        model)."""
        last = self.frame_index if self.last_frame is None else self.last_frame
        return int(self.frame_index[row]), int(last[row])

    def frame_at(self, row: int, within: int = 0) -> int:
        """The video frame row ``row`` shows as its frame ``within`` (kept inside the
        row's frames; 0 for a per-frame model)."""
        first, last = self.frames_of(row)
        return first + int(np.clip(within, 0, last - first))

    def row_of_frame(self, frame: int) -> int | None:
        """The row covering video frame ``frame``, or None when no row does (a frame
        outside the encoded range, or skipped by a stride)."""
        row = int(self.rows_of_frames(np.array([frame]))[0])
        return row if row >= 0 else None

    def rows_of_frames(self, frames: np.ndarray) -> np.ndarray:
        """The row covering each video frame of ``frames``, -1 where none does."""
        frames = np.asarray(frames, np.int64)
        last = self.frame_index if self.last_frame is None else self.last_frame
        rows = np.searchsorted(self.frame_index, frames, side="right") - 1
        covered = rows >= 0
        covered[covered] = frames[covered] <= last[rows[covered]]
        return np.where(covered, rows, -1)

    def position_of_frame(self, frame: int) -> tuple[int, int] | None:
        """The row covering video frame ``frame`` and the frame's place among the row's
        frames (0 for a per-frame model), or None when no row covers it."""
        row = self.row_of_frame(frame)
        return None if row is None else (row, frame - int(self.frame_index[row]))

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of :data:`ARRAY_SPECS` this trajectory has, by name (the optional
        ones only when present), as a session stores them."""
        return {name: getattr(self, name) for name in ARRAY_SPECS
                if getattr(self, name) is not None}

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.meta.get("latent_shape", self.mu.shape[1:]))

    def with_meta(self, **changes: Any) -> Trajectory:
        """A copy whose ``meta`` has these top-level entries replaced."""
        return replace(self, meta={**self.meta, **changes})

    def with_embedding(self, embedding: np.ndarray, projection: dict[str, Any]) -> Trajectory:
        """A copy laid out by a projection (``projection`` describes it in ``meta``)."""
        return replace(self, embedding=embedding, meta={**self.meta, "projection": projection})

    def latents(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """Means reshaped to the model's latent shape, ready for ``decode``."""
        picked = self.mu if rows is None else self.mu[rows]
        return picked.reshape(len(picked), *self.latent_shape)

    def save(self, path: str | os.PathLike[str], float16: bool = False) -> Path:
        """Write the trajectory atomically as ``.npz``.

        ``float16`` halves the file for image-shaped latents (16,384 numbers a frame for a
        512 px Stable Diffusion VAE); they are read back as float32.
        """
        stored = np.float16 if float16 else np.float32
        embedding = self.embedding
        if embedding is None:
            embedding = np.full((len(self), 2), np.nan, np.float32)
        optional = {} if self.psnr_db is None else {"psnr_db": self.psnr_db.astype(np.float32)}
        if self.last_frame is not None:
            optional["last_frame"] = self.last_frame.astype(np.int64, copy=False)
        target = Path(path)
        with atomic_output(target) as temp, open(temp, "wb") as handle:
            np.savez(
                handle,
                **optional,
                mu=self.mu.astype(stored, copy=False),
                logvar=self.logvar.astype(stored, copy=False),
                frame_index=self.frame_index.astype(np.int64, copy=False),
                time_s=self.time_s.astype(np.float64, copy=False),
                embedding=embedding.astype(np.float32, copy=False),
                meta=np.array(json.dumps(self.meta)),
            )
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trajectory:
        """Read a trajectory file, checking every size before reading any array."""
        file, stream = open_regular(path, "trajectory")
        with stream, open_npz(stream, os.fstat(stream.fileno()).st_size, str(file),
                              "trajectory file") as npz:
            width = npz.check(_FILE_SPECS)["D"]
            meta = parse_json(npz.read_text("meta"), f"{file}: meta")
            meta = check_meta(meta, width, str(file), ExplorerError)
            mapped = sum(npz.headers[name].nbytes for name in _MAPPABLE) > MAP_ABOVE_BYTES
            arrays = {}
            for name in (*ARRAY_SPECS, "embedding"):
                if name in npz.headers:
                    view = npz.map(name, file) if mapped and name in _MAPPABLE else None
                    arrays[name] = npz.read(name) if view is None else view
        embedding = arrays.pop("embedding")
        trajectory = cls.checked(arrays, meta, str(file), ExplorerError)
        if np.isnan(embedding).all():
            return trajectory
        _require_finite(embedding, f"{file}: embedding", ExplorerError)
        return replace(trajectory, embedding=embedding.astype(np.float32, copy=False))

    @classmethod
    def checked(cls, arrays: Mapping[str, np.ndarray], meta: dict[str, Any], source: str,
                error: type[ExplorerError]) -> Trajectory:
        """A trajectory from arrays whose shapes met :data:`ARRAY_SPECS`, once their values
        make sense: at least one frame, finite numbers, frame numbers increasing, and for
        a temporal model (``last_frame`` with ``meta["temporal"]``) rows covering frames
        in order, none twice."""
        if not len(arrays["mu"]) or not arrays["mu"].shape[1]:
            raise error(f"{source}: mu: has shape {arrays['mu'].shape}; expected at least "
                        "one frame of at least one number")
        for name in ("mu", "logvar", "time_s", "psnr_db"):
            if name in arrays:
                _require_finite(arrays[name], f"{source}: {name}", error)
        frames = arrays["frame_index"]
        if frames[0] < 0 or frames[-1] > MAX_FRAME or (np.diff(frames) <= 0).any():
            raise error(f"{source}: frame_index: frame numbers must be increasing, from 0 "
                        "up")
        last = arrays.get("last_frame")
        if (last is None) != (meta.get("temporal") is None):
            raise error(f"{source}: last_frame and meta.temporal come together (a temporal "
                        "model's trajectory has both, a per-frame one neither)")
        if last is not None and ((last < frames).any() or last[-1] > MAX_FRAME
                                 or (last[:-1] >= frames[1:]).any()):
            raise error(f"{source}: last_frame: each row must cover frames frame_index to "
                        "last_frame, after the row before it and without overlapping it")
        return cls(
            mu=arrays["mu"].astype(np.float32, copy=False),
            logvar=arrays["logvar"].astype(np.float32, copy=False),
            frame_index=frames.astype(np.int64, copy=False),
            time_s=arrays["time_s"].astype(np.float64, copy=False),
            meta=meta,
            psnr_db=None if "psnr_db" not in arrays else
            arrays["psnr_db"].astype(np.float32, copy=False),
            last_frame=None if last is None else last.astype(np.int64, copy=False),
        )


def _require_finite(array: np.ndarray, where: str, error: type[ExplorerError]) -> None:
    """Every value of ``array`` finite, checked a block of rows at a time."""
    rows = max(1, _FINITE_CHUNK // max(1, math.prod(array.shape[1:])))
    for start in range(0, len(array), rows):
        if not np.isfinite(array[start : start + rows]).all():
            raise error(f"{where}: holds NaN or infinite values")
