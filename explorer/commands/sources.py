"""Where a command's trajectory comes from: a trajectory file, or a video encoded with the
model (served from the cache when it was encoded before); and its reconstruction PSNR,
measured by encoding its frames again when the file has none."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer import interrupts
from explorer.commands.progress import ProgressBar
from explorer.errors import ExplorerError
from explorer.fileio import file_fingerprint
from explorer.latent.trajectory import Trajectory
from explorer.model.contract import AnyVAE
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.decode import check_decodable
from explorer.pipeline.encode import EncodeProgress, Selection, encode_with_cache


def trajectory_for(vae: AnyVAE, model: str, video: Path | None = None,
                   trajectory: Path | None = None) -> tuple[Trajectory, Path | None]:
    """The trajectory of file ``trajectory``, which ``vae`` must be able to decode, or of
    ``video`` encoded with it; and its video (None when not known)."""
    if trajectory is not None:
        loaded = Trajectory.load(trajectory)
        check_decodable(loaded, vae, str(trajectory), model)
        path = (loaded.meta.get("video") or {}).get("path")
        return loaded, Path(path) if path else None
    if video is None:
        raise ExplorerError("give a video or a trajectory")
    return encode_with_bar(video, model, vae, Selection(), TrajectoryCache())[0], video


def measured_psnr(trajectory: Trajectory, source: str, vae: AnyVAE, model: str,
                  video: Path) -> np.ndarray:
    """Each row's reconstruction PSNR: ``video``'s frames that ``trajectory`` (read from
    ``source``) was encoded from, encoded and decoded again with ``vae``."""
    fingerprint = (trajectory.meta.get("video") or {}).get("fingerprint")
    if fingerprint and fingerprint != file_fingerprint(video):
        raise ExplorerError(f"{video} is not the video {source} was encoded from")
    check_decodable(trajectory, vae, source, model)
    frames = trajectory.frame_index
    strides = [1] if trajectory.is_temporal else np.unique(np.diff(frames)).tolist() or [1]
    if len(strides) > 1:  # a video autoencoder's steps cover every frame of their range
        raise ExplorerError(f"{source}'s frames are not evenly spaced, so they cannot be "
                            "encoded again to measure the reconstruction error")
    last = frames if trajectory.last_frame is None else trajectory.last_frame
    selection = Selection(int(frames[0]), int(last[-1]) + 1, int(strides[0]),
                          measure_error=True)
    again, _ = encode_with_bar(video, model, vae, selection, TrajectoryCache())
    if not np.array_equal(again.frame_index, frames) or again.psnr_db is None:
        raise ExplorerError(f"{video} does not hold the frames {source} was encoded from")
    return again.psnr_db


def encode_with_bar(video: Path, model: str, vae: AnyVAE, selection: Selection,
                    cache: TrajectoryCache | None, batch_size: int = 32,
                    ) -> tuple[Trajectory, bool]:
    """:func:`~explorer.pipeline.encode.encode_with_cache` with a progress bar that Ctrl-C
    stops; returns the trajectory and whether it came from the cache."""
    with ProgressBar(desc="encoding", unit=" frames") as bar:

        def progress(update: EncodeProgress) -> None:
            bar.update_to(update.done, update.expected)
            interrupts.check()

        return encode_with_cache(video, model, vae, selection, cache=cache,
                                 batch_size=batch_size, on_progress=progress)
