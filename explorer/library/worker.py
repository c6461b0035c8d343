"""What runs in the Ray workers: an encoder that opens the model once and then encodes
video after video into the library's folder, and the tally of frames done that the
driver's progress bar reads.

These are plain classes (Ray makes actors of them in :mod:`~explorer.library.ray_pool`),
so this module does not import Ray. A video is encoded by the pipeline of ``explorer
encode`` (:func:`~explorer.pipeline.encode.encode_with_cache`: streaming, frame-exact) and
saved with its own PCA layout, like ``explorer encode``'s output, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.errors import ExplorerError, describe_error
from explorer.latent.projection import PCAProjection, projection_meta
from explorer.library.catalog import MAX_REASON, MAX_WARNINGS, VideoEntry
from explorer.pipeline.encode import EncodeProgress, encode_with_cache


@dataclass(frozen=True)
class WorkerConfig:
    model: str
    trust_code: bool
    device: str
    batch_size: int
    folder: str
    """The library's folder, as every node sees it."""


@dataclass(frozen=True)
class Job:
    key: int
    """The video's index in the library."""
    video: str
    trajectory: str
    """The file name to write in the library's folder."""
    expected: int
    """Frames the container declares, for the progress bar until the worker knows better."""


@dataclass(frozen=True)
class WorkerInfo:
    error: str | None
    """Why the model did not open, in one line; None when it did."""
    latent_shape: tuple[int, ...] = ()


class Tally:
    """Frames done and expected per job, as the workers last reported them; a job that a
    restarted worker does again starts from zero again."""

    def __init__(self) -> None:
        self._counts: dict[int, tuple[int, int | None]] = {}

    def report(self, key: int, done: int, expected: int | None) -> None:
        self._counts[key] = (done, expected)

    def read(self) -> dict[int, tuple[int, int | None]]:
        return self._counts


class EncodeWorker:
    """Opens the model once; then encodes the videos it is given, one at a time."""

    def __init__(self, config: WorkerConfig) -> None:
        from explorer.model.open import open_model

        self._config = config
        try:
            self._vae = open_model(config.model, device=config.device,
                                   trust_code=config.trust_code)
        except (ExplorerError, OSError) as exc:
            self._vae, self._error = None, describe_error(exc)
        else:
            self._error = None

    def ready(self) -> WorkerInfo:
        """Whether the model opened here: the driver asks before giving out any video."""
        if self._vae is None:
            return WorkerInfo(self._error)
        return WorkerInfo(None, tuple(self._vae.latent_shape))

    def encode(self, job: Job, tally: Any) -> VideoEntry:
        """Encode ``job``'s video into the library's folder, reporting to the ``tally``
        actor as it goes; a video that cannot be read or encoded comes back failed, with
        the reason in one line."""
        def progress(update: EncodeProgress) -> None:
            tally.report.remote(job.key, update.done, update.expected)

        try:
            if self._vae is None:  # a restarted worker whose model no longer opens
                raise ExplorerError(f"the model did not open: {self._error}")
            trajectory, _ = encode_with_cache(job.video, self._config.model, self._vae,
                                              batch_size=self._config.batch_size,
                                              on_progress=progress)
            pca = PCAProjection.fit(trajectory.mu)
            trajectory = trajectory.with_embedding(pca.embedding, projection_meta(pca))
            trajectory.save(Path(self._config.folder) / job.trajectory)
        except (ExplorerError, OSError) as exc:
            return failed_entry(job, describe_error(exc))
        video = trajectory.meta["video"]
        last = trajectory.frame_index if trajectory.last_frame is None else trajectory.last_frame
        frames = int((last - trajectory.frame_index + 1).sum())
        return VideoEntry(
            path=job.video, status="done", fingerprint=video["fingerprint"], frames=frames,
            rows=len(trajectory), fps=float(video["fps"]), trajectory=job.trajectory,
            warnings=[str(warning) for warning in video.get("warnings", [])][:MAX_WARNINGS],
        )


def failed_entry(job: Job, reason: str) -> VideoEntry:
    return VideoEntry(path=job.video, status="failed", reason=reason[:MAX_REASON],
                      trajectory=job.trajectory)
