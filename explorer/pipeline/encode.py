"""Encoding a video into a latent trajectory.

Frames stream from the reader in batches; a background thread decodes batch k+1 and
fits it to the model's input size while the model encodes batch k, and the model leaves
that thread a core (:func:`~explorer.pipeline.prefetch.leave_cores`). Only the latents
are kept, so memory stays flat in the video's length. Optionally each frame is also
decoded back to measure its reconstruction PSNR, which shows where the model struggles
(it doubles the model's work).

A temporal model (:func:`~explorer.model.contract.is_temporal`: Wan, CogVideoX...) makes
one row per latent step instead, and records the frames each covers (``last_frame``,
``meta["temporal"]``). It encodes consecutive frames, in windows of :class:`Windowing`
steps planned by a :class:`~explorer.model.video_vae.rule.WindowPlanner` as frames
arrive, so neither the video's length nor a container's claim about it needs to be known,
and memory stays that of a few windows. Each window after the first starts ``context``
steps early and drops them; the steps just after a window's start still differ from
those of the whole video encoded at once (the module docstring of
:mod:`~explorer.model.video_vae.temporal_vae` says why). With ``measure_error`` each
window is decoded whole, and a step's PSNR is over the frames it covers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from explorer.errors import Cancelled, ExplorerError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.model import guard
from explorer.model.contract import AnyVAE, TemporalVideoVAE, VideoVAE, is_temporal
from explorer.model.identity import model_identity, model_location
from explorer.model.video_vae.rule import Window, WindowPlanner
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.prefetch import leave_cores, prefetch
from explorer.video.reader import VideoReader, open_video

T = TypeVar("T")


@dataclass(frozen=True)
class Selection:
    """Which frames to encode: ``range(start, end, stride)``, at most ``max_frames``."""

    start: int = 0
    end: int | None = None
    stride: int = 1
    max_frames: int | None = None
    measure_error: bool = False
    """Also decode every frame and record its reconstruction PSNR (a temporal model's:
    each step's, over the frames it covers)."""


@dataclass(frozen=True)
class Windowing:
    """How a temporal model encodes a long video: windows of ``steps`` latent steps, each
    after the first also encoding ``context`` steps before its own, then dropping them."""

    steps: int
    context: int = 1

    def __post_init__(self) -> None:
        if self.steps < 1 or self.context < 0:
            raise ExplorerError(f"a window needs at least one latent step and no negative "
                                f"context, not {self.steps} and {self.context}")

    @classmethod
    def for_model(cls, vae: TemporalVideoVAE) -> Windowing:
        """About the clips the model was made for, with one step of context."""
        return cls(vae.window_steps)


@dataclass(frozen=True)
class EncodeProgress:
    done: int
    """Frames encoded so far (a temporal model: frames its finished steps cover)."""
    expected: int | None
    mu: np.ndarray
    """The latents of the rows just encoded, flattened to [n, D]."""


@dataclass(frozen=True)
class _Rows:
    """Rows of a trajectory, as one batch or window makes them."""

    mu: np.ndarray
    logvar: np.ndarray
    psnr: np.ndarray | None
    first: np.ndarray
    last: np.ndarray
    window: tuple[int, int] | None = None
    """A temporal model's ``[first_step, start_frame]`` of the window they came from."""


def encode_with_cache(
    video: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    vae: AnyVAE,
    selection: Selection = Selection(),
    cache: TrajectoryCache | None = None,
    batch_size: int = 32,
    on_progress: Callable[[EncodeProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    windowing: Windowing | None = None,
) -> tuple[Trajectory, bool]:
    """Like :func:`encode_video`, but served from ``cache`` (if given) when seen before.

    Returns the trajectory and whether it came from the cache. The trajectory's metadata
    names the model (location, content identity) and the video (path, content fingerprint).
    A model that is code (a plugin) has no content identity and is never cached.
    """
    identity = model_identity(model_path)
    fingerprint = file_fingerprint(video)
    if identity is None:
        cache = None
    # Everything besides the two files that changes the latents: how frames are chosen
    # and fitted, the shapes the model was asked for (settings files can change them),
    # and a temporal model's windows.
    settings: dict[str, Any] = {
        **asdict(selection),
        "fit_mode": vae.fit_mode,
        "frame_size": list(vae.frame_size),
        "latent_shape": list(vae.latent_shape),
    }
    if is_temporal(vae):
        windowing = windowing or Windowing.for_model(vae)
        settings["temporal"] = asdict(windowing)
    key = TrajectoryCache.key(fingerprint, identity or "", settings)
    cached = cache.get(key) if cache else None
    if cached is not None:  # the video may have moved
        video_meta = {**cached.meta["video"], "path": str(Path(video).resolve())}
        return cached.with_meta(video=video_meta), True
    trajectory = encode_video(video, vae, selection, batch_size, on_progress, should_stop,
                              windowing=windowing)
    trajectory = trajectory.with_meta(
        model={"path": model_location(model_path), "sha256": identity},
        video={**trajectory.meta["video"], "fingerprint": fingerprint},
    )
    if cache:
        cache.put(key, trajectory)
    return trajectory, False


def encode_video(
    video: str | os.PathLike[str],
    vae: AnyVAE,
    selection: Selection = Selection(),
    batch_size: int = 32,
    on_progress: Callable[[EncodeProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    windowing: Windowing | None = None,
) -> Trajectory:
    """Encode the selected frames of ``video`` with ``vae``; see the module docstring.

    ``batch_size`` frames go through a per-frame model at a time; a temporal model encodes
    window by window (``windowing``, by default :meth:`Windowing.for_model`), and only
    with a ``selection`` stride of 1.
    """
    temporal = is_temporal(vae)
    if temporal:
        windowing = windowing or Windowing.for_model(vae)
        if selection.stride != 1:
            raise ExplorerError(
                "a video autoencoder encodes consecutive frames into latent steps, so it "
                f"takes every frame of the range: the stride must be 1, not {selection.stride} "
                "(limit the range with start, end or max frames instead)"
            )
        # About one window's new frames at a time, read one window ahead.
        batch_size = windowing.steps * vae.temporal_stride
    with open_video(video) as reader, leave_cores():
        expected = _expected_count(reader, selection)
        batches = _until_stopped(
            prefetch(_fitted_batches(reader, selection, batch_size, vae),
                     depth=1 if temporal else 2),
            should_stop,
        )
        pieces = (_step_rows(vae, batches, windowing, selection.measure_error)
                  if temporal else _frame_rows(vae, batches, selection.measure_error))
        rows: list[_Rows] = []
        done = 0
        for piece in pieces:
            rows.append(piece)
            done += int((piece.last - piece.first + 1).sum())
            if on_progress:
                on_progress(EncodeProgress(done, expected, piece.mu.reshape(len(piece.mu), -1)))
        if not rows:
            raise ExplorerError(f"{video} has no frames in the chosen range")
        fps = reader.info.fps
        meta: dict[str, Any] = {
            "video": {"path": str(Path(video).resolve()), "fps": fps, "warnings": reader.warnings},
            "selection": asdict(selection),
            "fit_mode": vae.fit_mode,
            "latent_shape": list(vae.latent_shape),
            "frame_size": list(vae.frame_size),
        }
    if temporal:
        meta["temporal"] = _temporal_meta(vae, windowing, rows)
    frame_index = np.concatenate([r.first for r in rows])
    psnrs = [r.psnr for r in rows if r.psnr is not None]
    return Trajectory(
        mu=np.concatenate([r.mu.reshape(len(r.mu), -1) for r in rows]),
        logvar=np.concatenate([r.logvar.reshape(len(r.logvar), -1) for r in rows]),
        frame_index=frame_index,
        time_s=frame_index / fps,
        meta=meta,
        psnr_db=np.concatenate(psnrs) if psnrs else None,
        last_frame=np.concatenate([r.last for r in rows]) if temporal else None,
    )


def psnr_db(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Per-frame PSNR in dB of uint8 frames [N, H, W, 3]; identical frames give 100 dB."""
    return _psnr(_mse(originals, reconstructions))


def _mse(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    difference = originals.astype(np.float32) - reconstructions.astype(np.float32)
    return np.mean(difference.reshape(len(difference), -1) ** 2, axis=1)


def _psnr(mse: np.ndarray) -> np.ndarray:
    return (10 * np.log10(255.0**2 / np.maximum(mse, 255.0**2 * 1e-10))).astype(np.float32)


def _frame_rows(
    vae: VideoVAE, batches: Iterable[tuple[list[int], np.ndarray]], measure_error: bool
) -> Iterator[_Rows]:
    """One row a frame, a batch at a time."""
    for indices, frames in batches:
        mu, logvar = guard.encode(vae, frames)
        psnr = psnr_db(frames, guard.decode(vae, mu)) if measure_error else None
        index = np.asarray(indices, dtype=np.int64)
        yield _Rows(mu, logvar, psnr, index, index)


def _step_rows(
    vae: TemporalVideoVAE,
    batches: Iterable[tuple[list[int], np.ndarray]],
    windowing: Windowing,
    measure_error: bool,
) -> Iterator[_Rows]:
    """One row a latent step, a window at a time, planned as frames arrive; only the
    frames a window still to come needs are held."""
    planner = WindowPlanner(vae.rule, windowing.steps, windowing.context)
    indices: list[int] = []
    frames: list[np.ndarray] = []
    held_from = 0  # the stream position of frames[0]
    arrived = 0
    finished = False
    batch_iterator = iter(batches)
    while not finished:
        batch = next(batch_iterator, None)
        if batch is None:
            finished = True
        else:
            indices.extend(batch[0])
            frames.extend(batch[1])
            arrived += len(batch[0])
        while (window := planner.next_window(arrived, finished)) is not None:
            begin, end = window.start - held_from, window.stop - held_from
            yield _window_rows(vae, window, np.stack(frames[begin:end]),
                               np.asarray(indices[begin:end], dtype=np.int64), measure_error)
            spent = planner.needed_from - held_from
            del indices[:spent], frames[:spent]
            held_from += spent


def _window_rows(vae: TemporalVideoVAE, window: Window, clip: np.ndarray, index: np.ndarray,
                 measure_error: bool) -> _Rows:
    """The steps a window keeps; ``index`` holds the video frame number of each frame."""
    mu, logvar = guard.encode_clip(vae, clip)
    spans = vae.step_frames(len(clip))  # each step's first and last frame in the clip
    psnr = None
    if measure_error:
        errors = _mse(clip, guard.decode_steps(vae, mu)[: len(clip)])
        psnr = _psnr(np.array([errors[a : b + 1].mean() for a, b in spans[window.skip:]]))
    kept = spans[window.skip:]
    return _Rows(mu[window.skip:], logvar[window.skip:], psnr, index[kept[:, 0]],
                 index[kept[:, 1]], window=(window.first_step, int(index[0])))


def _temporal_meta(vae: TemporalVideoVAE, windowing: Windowing,
                   rows: list[_Rows]) -> dict[str, Any]:
    """``meta["temporal"]`` (:class:`~explorer.latent.trajectory.TemporalMeta`)."""
    return {
        "stride": vae.temporal_stride,
        "causal_first_frame": vae.causal_first_frame,
        "rule": vae.rule.describe(),
        "window_steps": windowing.steps,
        "context_steps": windowing.context,
        "windows": [list(r.window) for r in rows if r.window is not None],
    }


def _until_stopped(items: Iterable[T], should_stop: Callable[[], bool] | None) -> Iterator[T]:
    """``items``, asking ``should_stop`` before each."""
    for item in items:
        if should_stop and should_stop():
            raise Cancelled("encoding cancelled")
        yield item


def _fitted_batches(
    reader: VideoReader, selection: Selection, batch_size: int, vae: AnyVAE
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Batches of frame numbers and frames fitted to the model's input size.

    The reader fits them as it decodes them (see :meth:`VideoReader.frames`), on the
    producer's thread, which keeps full-size frames out of the batches and the queue.
    """
    indices: list[int] = []
    frames: list[np.ndarray] = []
    stream = reader.frames(
        selection.start,
        selection.end,
        selection.stride,
        selection.max_frames,
        size=vae.frame_size,
        fit_mode=vae.fit_mode,
    )
    for index, frame in stream:
        indices.append(index)
        frames.append(frame)
        if len(frames) == batch_size:
            yield indices, np.stack(frames)
            indices, frames = [], []
    if frames:
        yield indices, np.stack(frames)


def _expected_count(reader: VideoReader, selection: Selection) -> int | None:
    """A progress-bar estimate from the container's claim; never used as the truth."""
    declared = reader.info.declared_frames
    if not declared:
        return None
    end = declared if selection.end is None else min(selection.end, declared)
    count = max(0, -(-(end - selection.start) // selection.stride))
    return count if selection.max_frames is None else min(count, selection.max_frames)
