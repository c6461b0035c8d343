"""``explorer library encode`` as a plain function (:func:`encode_library`): which videos
need encoding, the work on Ray, and the library's index kept current as each finishes.

A video is encoded again only when it is not done with the library's model, or its
content changed (its fingerprint); ``overwrite`` encodes every video given again. A new
video is listed from the start, as failed with "not encoded yet", so the library keeps
the order the videos were given in and an interrupted run says which are missing.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from explorer.errors import ExplorerError
from explorer.fileio import check_writable_folder, file_fingerprint
from explorer.library.catalog import (
    LIBRARY_FILE,
    MAX_VIDEOS,
    Library,
    ModelEntry,
    VideoEntry,
    load_library,
    new_library,
    save_library,
)
from explorer.library.ray_pool import Counts, PoolOptions, encoder_pool
from explorer.library.shared_map import refresh_map, refresh_umap
from explorer.library.worker import Job, WorkerConfig
from explorer.model.identity import model_identity, model_location
from explorer.model.kinds import UntrustedCodeError, model_kind, untrusted_message
from explorer.video.reader import probe_video

NOT_YET = "not encoded yet: the run that was to encode it stopped first"


@dataclass(frozen=True)
class EncodeRequest:
    videos: list[Path]
    """The videos, resolved (:func:`~explorer.library.discover.find_videos`)."""
    folder: Path
    model: str
    trust_code: bool = False
    batch_size: int = 32
    overwrite: bool = False
    pool: PoolOptions = field(default_factory=PoolOptions)
    umap: bool = True
    """Fit a UMAP beside the shared map's PCA (on landmarks; numba's start alone takes
    seconds)."""
    keep_map: bool = False
    """Keep a shared map fitted before, whatever videos it covers: videos done since are
    placed on it by its forward maps, until a run without ``keep_map`` fits it again."""


@dataclass(frozen=True)
class LibraryProgress:
    frames_done: int
    frames_expected: int
    """An estimate until every video has started: containers' frame counts are claims."""
    done: int
    failed: int
    videos: int
    """Videos this run encodes."""


@dataclass(frozen=True)
class EncodeSummary:
    library: Library
    results: list[VideoEntry]
    """The videos this run encoded, done or failed, as they finished."""
    skipped: int
    """Videos given that were done already."""
    start_s: float = 0.0
    """Seconds until every worker had the model open (Ray's start too, when this run
    started it); 0 when no video needed encoding."""
    encoding_s: float = 0.0
    """Seconds from then until the last video came back: the encoding itself."""

    @property
    def encoded(self) -> int:
        return sum(video.status == "done" for video in self.results)

    @property
    def failed(self) -> list[VideoEntry]:
        return [video for video in self.results if video.status == "failed"]


def encode_library(
    request: EncodeRequest,
    on_progress: Callable[[LibraryProgress], None] | None = None,
    on_map_progress: Callable[[int, int], None] | None = None,
) -> EncodeSummary:
    """Encode ``request.videos`` into the library in ``request.folder`` (made if missing),
    then fit its shared map. ``on_progress`` is called a few times a second, and
    ``on_map_progress(done, total)`` as the UMAP is fitted; an exception either raises
    (Ctrl-C) stops the work, leaving every video finished so far in the library.
    """
    model = _model_entry(request)
    folder = _prepare(request.folder)
    library, jobs = _plan(_existing(folder, model, request.overwrite), request)
    results: list[VideoEntry] = []
    seconds = (0.0, 0.0)
    if jobs:
        save_library(folder, library)
        library, seconds = _run(folder, library, jobs, request, results.append,
                                on_progress or (lambda _progress: None))
    library = _saved(folder, library, refresh_map(folder, library, request.keep_map))
    if request.umap:  # after the PCA is saved: stopping now keeps it
        library = _saved(folder, library, refresh_umap(folder, library, on_map_progress))
    return EncodeSummary(library, results, len(request.videos) - len(jobs), *seconds)


def _saved(folder: Path, before: Library, after: Library) -> Library:
    """``after``, with ``library.json`` written when it differs from ``before``."""
    if after != before:
        save_library(folder, after)
    return after


def _model_entry(request: EncodeRequest) -> ModelEntry:
    """The model as the library records it; a model that is code needs ``trust_code``,
    as in ``explorer encode``, before any worker starts."""
    kind = model_kind(request.model)
    if kind.runs_code and not request.trust_code:
        raise UntrustedCodeError(untrusted_message(request.model, kind))
    return ModelEntry(path=model_location(request.model),
                      identity=model_identity(request.model))


def _prepare(folder: Path) -> Path:
    """The library's folder, made if missing: a new or empty folder, or a library."""
    if folder.exists() and not folder.is_dir():
        raise ExplorerError(f"{folder} is a file; give a folder for the library")
    if folder.is_dir():
        if not (folder / LIBRARY_FILE).exists() and any(folder.iterdir()):
            raise ExplorerError(f"{folder} holds files but no {LIBRARY_FILE}: give a new or "
                                "empty folder for the library")
    else:
        check_writable_folder(folder.parent, folder)
        folder.mkdir()
    check_writable_folder(folder, folder / LIBRARY_FILE)
    return folder


def _existing(folder: Path, model: ModelEntry, overwrite: bool) -> Library:
    """The library already in ``folder``, to continue; or a new one. One made with another
    model is another latent space: it is replaced only with ``overwrite``."""
    if not (folder / LIBRARY_FILE).exists():
        return new_library(model)
    library = load_library(folder)
    if library.model.key == model.key:
        return library.model_copy(update={"model": library.model.model_copy(
            update={"path": model.path})})
    if not overwrite:
        raise ExplorerError(
            f"{folder} was encoded with the model {library.model.path}, not {model.path}: a "
            "library holds one model's latents; pass --overwrite to encode it again with "
            "this one, or give another folder"
        )
    for _, video in library.done():
        (folder / video.trajectory).unlink(missing_ok=True)
    return new_library(model)


def _plan(library: Library, request: EncodeRequest) -> tuple[Library, list[Job]]:
    """The library with every new video listed, and the videos to encode."""
    videos = list(library.videos)
    where = {video.path: index for index, video in enumerate(videos)}
    jobs = []
    for path in request.videos:
        index = where.setdefault(str(path), len(videos))
        if index == len(videos):
            videos.append(VideoEntry(path=str(path), status="failed", reason=NOT_YET,
                                     trajectory=_trajectory_name(path)))
        elif not request.overwrite and _current(request.folder, videos[index], path):
            continue
        jobs.append(Job(index, str(path), videos[index].trajectory or _trajectory_name(path),
                        _declared_frames(path)))
    if len(videos) > MAX_VIDEOS:
        raise ExplorerError(f"a library holds at most {MAX_VIDEOS:,} videos, and this one "
                            f"would hold {len(videos):,}")
    return library.model_copy(update={"videos": videos}), jobs


def _current(folder: Path, video: VideoEntry, path: Path) -> bool:
    """Whether ``video`` is done from the file now at ``path``, and its trajectory there."""
    if video.status != "done" or not (folder / video.trajectory).is_file():
        return False
    try:
        return file_fingerprint(path) == video.fingerprint
    except OSError:  # unreadable now: encoding it again says why
        return False


def _trajectory_name(video: Path) -> str:
    """A file name for the video's trajectory: readable, and unique by its full path."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", video.stem).strip("._")[:48] or "video"
    return f"{stem}-{hashlib.sha256(str(video).encode()).hexdigest()[:10]}.npz"


def _declared_frames(video: Path) -> int:
    """The container's frame count, for the progress bar; 0 for a file that does not open
    (its worker says why)."""
    try:
        return probe_video(video).declared_frames or 0
    except (ExplorerError, OSError):
        return 0


def _run(folder: Path, library: Library, jobs: list[Job], request: EncodeRequest,
         record: Callable[[VideoEntry], None],
         on_progress: Callable[[LibraryProgress], None]) -> tuple[Library, tuple[float, float]]:
    """Encode ``jobs`` on Ray, saving the library after each video; the library, and the
    seconds the workers took to start and then to encode."""
    config = WorkerConfig(model=library.model.path, trust_code=request.trust_code,
                          device="cuda" if request.pool.gpus_per_worker else "cpu",
                          batch_size=request.batch_size, folder=str(folder.resolve()))
    tally = _Tally({job.key: job.expected for job in jobs})

    def tick(counts: Counts) -> None:
        on_progress(tally.progress(counts))

    started = time.monotonic()
    with encoder_pool(config, request.pool, len(jobs), tick) as pool:
        ready = time.monotonic()
        shape = list(pool.info.latent_shape)
        if library.model.latent_shape not in (None, shape):  # a plugin whose code changed
            raise ExplorerError(f"{request.model} now makes latents of shape {shape}, but the "
                                f"library holds {library.model.latent_shape}; pass --overwrite "
                                "to encode it again")
        model = library.model.model_copy(update={"latent_shape": shape})
        library = library.model_copy(update={"model": model})
        for job, entry in pool.encode(jobs, tick):
            if entry.status == "failed":  # an earlier trajectory is no longer its video's
                (folder / job.trajectory).unlink(missing_ok=True)
            videos = list(library.videos)
            videos[job.key] = entry
            library = library.model_copy(update={"videos": videos})
            save_library(folder, library)
            tally.finish(job.key, entry)
            record(entry)
            tick({})
        finished = time.monotonic()
    return library, (ready - started, finished - ready)


class _Tally:
    """The progress over all videos, from what the workers report of each."""

    def __init__(self, estimates: dict[int, int]) -> None:
        self._estimates = estimates
        self._counts: Counts = {}
        self._finished: dict[int, str] = {}

    def finish(self, key: int, entry: VideoEntry) -> None:
        self._finished[key] = entry.status
        done = entry.frames or self._counts.get(key, (0, None))[0]
        self._counts[key] = (done, done)

    def progress(self, counts: Counts) -> LibraryProgress:
        self._counts.update((key, count) for key, count in counts.items()
                            if key not in self._finished)
        done = expected = 0
        for key, estimate in self._estimates.items():
            frames, claimed = self._counts.get(key, (0, None))
            done += frames
            expected += max(frames, claimed or estimate)
        statuses = list(self._finished.values())
        return LibraryProgress(done, expected, statuses.count("done"), statuses.count("failed"),
                               len(self._estimates))
