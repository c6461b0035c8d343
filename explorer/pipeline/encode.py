"""Encoding a video into a latent trajectory.

Frames stream from the reader in batches; a background thread decodes batch k+1 and
fits it to the model's input size while the model encodes batch k, and the model leaves
that thread a core (:func:`~explorer.pipeline.prefetch.leave_cores`). Only the latents
are kept, so memory stays flat in the video's length. Optionally each frame is also
decoded back to measure its reconstruction PSNR, which shows where the model struggles
(it doubles the model's work).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from explorer.errors import Cancelled, ExplorerError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.model import guard
from explorer.model.contract import VideoVAE
from explorer.model.identity import model_identity, model_location
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.prefetch import leave_cores, prefetch
from explorer.video.reader import VideoReader, open_video


@dataclass(frozen=True)
class Selection:
    """Which frames to encode: ``range(start, end, stride)``, at most ``max_frames``."""

    start: int = 0
    end: int | None = None
    stride: int = 1
    max_frames: int | None = None
    measure_error: bool = False
    """Also decode every frame and record its reconstruction PSNR."""


@dataclass(frozen=True)
class EncodeProgress:
    done: int
    expected: int | None
    mu: np.ndarray
    """The latents of the batch just encoded, flattened to [n, D]."""


def encode_with_cache(
    video: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    vae: VideoVAE,
    selection: Selection = Selection(),
    cache: TrajectoryCache | None = None,
    batch_size: int = 32,
    on_progress: Callable[[EncodeProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
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
    # and fitted, and the shapes the model was asked for (settings files can change them).
    settings = {
        **asdict(selection),
        "fit_mode": vae.fit_mode,
        "frame_size": list(vae.frame_size),
        "latent_shape": list(vae.latent_shape),
    }
    key = TrajectoryCache.key(fingerprint, identity or "", settings)
    cached = cache.get(key) if cache else None
    if cached is not None:  # the video may have moved
        video_meta = {**cached.meta["video"], "path": str(Path(video).resolve())}
        return cached.with_meta(video=video_meta), True
    trajectory = encode_video(video, vae, selection, batch_size, on_progress, should_stop)
    trajectory = trajectory.with_meta(
        model={"path": model_location(model_path), "sha256": identity},
        video={**trajectory.meta["video"], "fingerprint": fingerprint},
    )
    if cache:
        cache.put(key, trajectory)
    return trajectory, False


def encode_video(
    video: str | os.PathLike[str],
    vae: VideoVAE,
    selection: Selection = Selection(),
    batch_size: int = 32,
    on_progress: Callable[[EncodeProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Trajectory:
    """Encode the selected frames of ``video`` with ``vae``; see the module docstring."""
    with open_video(video) as reader, leave_cores():
        expected = _expected_count(reader, selection)
        mus, logvars, psnrs, indices = [], [], [], []
        done = 0
        batches = _fitted_batches(reader, selection, batch_size, vae)
        for batch_indices, frames in prefetch(batches):
            if should_stop and should_stop():
                raise Cancelled("encoding cancelled")
            mu, logvar = guard.encode(vae, frames)
            if selection.measure_error:
                psnrs.append(psnr_db(frames, guard.decode(vae, mu)))
            flat_mu = mu.reshape(len(mu), -1)
            mus.append(flat_mu)
            logvars.append(logvar.reshape(len(logvar), -1))
            indices.extend(batch_indices)
            done += len(frames)
            if on_progress:
                on_progress(EncodeProgress(done, expected, flat_mu))
        if not indices:
            raise ExplorerError(f"{video} has no frames in the chosen range")
        fps = reader.info.fps
        meta = {
            "video": {"path": str(Path(video).resolve()), "fps": fps, "warnings": reader.warnings},
            "selection": asdict(selection),
            "fit_mode": vae.fit_mode,
            "latent_shape": list(vae.latent_shape),
            "frame_size": list(vae.frame_size),
        }
    frame_index = np.asarray(indices, dtype=np.int64)
    return Trajectory(
        mu=np.concatenate(mus),
        logvar=np.concatenate(logvars),
        frame_index=frame_index,
        time_s=frame_index / fps,
        meta=meta,
        psnr_db=np.concatenate(psnrs) if psnrs else None,
    )


def psnr_db(originals: np.ndarray, reconstructions: np.ndarray) -> np.ndarray:
    """Per-frame PSNR in dB of uint8 frames [N, H, W, 3]; identical frames give 100 dB."""
    difference = originals.astype(np.float32) - reconstructions.astype(np.float32)
    mse = np.mean(difference.reshape(len(difference), -1) ** 2, axis=1)
    return (10 * np.log10(255.0**2 / np.maximum(mse, 255.0**2 * 1e-10))).astype(np.float32)


def _fitted_batches(
    reader: VideoReader, selection: Selection, batch_size: int, vae: VideoVAE
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
