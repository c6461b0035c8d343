"""The inference worker: the only place where the GUI touches the model.

It lives in its own ``QThread``; the GUI thread never waits on it. Requests are posted,
answers come back as signals.

Previews are *latest wins*. Each kind of preview (a timeline frame, the cursor image under
a drag, a hover thumbnail) has one pending slot that a newer request overwrites, so a drag
at 120 events/s never builds a queue: at most one decode runs and one waits. Every answer
carries the stamp of its request; the GUI paints only the answer to its latest request.

Long jobs (open a video and encode it, train) run one at a time, serve the pending
previews between batches, report progress, and stop at the next batch when cancelled.
Errors come back as one-line messages and the worker keeps serving.

torch is imported lazily, on the worker thread, so the window appears first.
"""

from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from explorer.errors import Cancelled, ExplorerError, describe_error
from explorer.model import guard
from explorer.pipeline.prefetch import leave_cores
from explorer.ui.collector import freeze_loaded_libraries

if TYPE_CHECKING:
    from explorer.latent.trajectory import Trajectory

T = TypeVar("T")
ModelLoader = Callable[[Path, str], Any]


class LatestSlot(Generic[T]):
    """A one-item mailbox: ``put`` overwrites, ``take`` empties. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: tuple[int, T] | None = None
        self._stamp = 0

    def put(self, value: T) -> int:
        with self._lock:
            self._stamp += 1
            self._item = (self._stamp, value)
            return self._stamp

    def take(self) -> tuple[int, T] | None:
        with self._lock:
            item, self._item = self._item, None
            return item

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._item is not None


@dataclass(frozen=True)
class FramePreview:
    stamp: int
    index: int
    """The trajectory row."""
    frame: int
    """The video frame shown: the row's, or one of those a latent step covers."""
    original: np.ndarray | None
    """None when the video is not available (a trajectory opened without it)."""
    reconstruction: np.ndarray
    missing: str = "the video is not available"
    """Why there is no ``original``."""


@dataclass(frozen=True)
class CursorPreview:
    stamp: int
    frames: np.ndarray
    """[k, H, W, 3]: one frame, or the frames a video autoencoder's latent step decodes to."""

    @property
    def image(self) -> np.ndarray:
        return self.frames[0]


@dataclass(frozen=True)
class Thumbnail:
    stamp: int
    index: int
    image: np.ndarray


@dataclass
class OpenVideo:
    """Job: load ``model`` and encode ``video``, replacing whatever was open. A ``video``
    that is a trajectory file (``.npz``) is read instead, and its video shown where it is;
    a library's folder opens its videos' trajectories joined, with its shared map.

    A restored session brings its ``trajectory`` (and the state of its PCA projection):
    then nothing is encoded. ``trust_code`` lets a model that is code run (the window has
    asked the user).
    """

    video: Path
    model: Path
    trajectory: Any = None
    pca_state: dict | None = None
    trust_code: bool = False
    selection: dict | None = None
    """Which frames to encode (``Selection`` fields); None: every frame."""


@dataclass
class ExportClip:
    """Job: decode the recipe's latents [N, D] into a clip at ``output``, with the recipe
    beside it."""

    recipe: Any  # explorer.pipeline.export.ClipRecipe
    frames: list  # per step, the video frame it shows exactly, or None
    output: str
    settings: Any  # explorer.pipeline.export.ExportSettings


@dataclass
class RenderTraversal:
    """Job: write a traversal of the open trajectory to ``output``: ``axes`` and the
    ``row``, ``picked`` axes, ``steps`` and ``deviations`` of a
    :class:`~explorer.analysis.traversal_file.TraversalRequest` (the tiles are the
    model's frame size)."""

    axes: Any
    row: int
    picked: list
    steps: int
    deviations: float
    output: str


@dataclass
class TrainModel:
    """Job: train a β-VAE on ``video`` and save it to ``output``."""

    video: Path
    output: Path
    settings: Any  # explorer.model.training.TrainSettings


@dataclass
class CompareModel:
    """Job: load ``model`` beside the open one and encode the open trajectory's frames with
    it, for a comparison (``trust_code``: the window has asked about a code model)."""

    model: Path
    trust_code: bool = False


@dataclass(frozen=True)
class ComparisonPreview:
    stamp: int
    row: int
    """The second model's row showing the frame, -1 when it did not encode the frame."""
    frame: int
    """The video frame."""
    reconstruction: np.ndarray | None
    """The second model's, at its own size (None without a row)."""
    difference: np.ndarray | None
    """|A − B| of the two reconstructions (:func:`explorer.analysis.compare.difference_image`)."""


class InferenceWorker(QObject):
    """Owns the model, the video reader and the device; see the module docstring."""

    status = Signal(str)
    modelReady = Signal(dict)
    opened = Signal(str, str)  # video, model: both open, the old ones are let go
    openFailed = Signal(str, str)  # video, model: not opened, or not encoded to the end
    deviceChanged = Signal(str)  # the device choice in use, after a change or a failure
    jobProgress = Signal(int, int)  # done, expected (-1 when unknown)
    trajectoryGrew = Signal(object)  # np.ndarray: the latents of the batch just encoded
    trajectoryReady = Signal(object, object)  # Trajectory, its PCA projection
    layoutsReady = Signal(object)  # dict: other layouts that came with it (a library's map)
    trainEvent = Signal(object)  # explorer.model.training.TrainEvent
    modelSaved = Signal(str)  # path of a model a training job wrote
    clipExported = Signal(str)  # path of a clip an export job wrote
    jobFinished = Signal(str)  # "done", "cancelled" or "failed"
    framePreviewReady = Signal(object)  # FramePreview
    cursorReady = Signal(object)  # CursorPreview
    thumbnailReady = Signal(object)  # Thumbnail (for hover; latest wins)
    keyframeThumbnailReady = Signal(object)  # Thumbnail (each request answered)
    failed = Signal(str)
    comparisonReady = Signal(str, object, object, dict)  # model, Trajectory, PCA, info
    comparisonPreviewReady = Signal(object)  # ComparisonPreview
    _wake = Signal()

    THUMBNAIL_SIZE = 96
    ROWS_KEPT = 8
    """Decoded rows kept: scrubbing inside a latent step, or back and forth over a few,
    decodes each once."""

    def __init__(self, model_loader: ModelLoader | None = None) -> None:
        """``model_loader(path, device)`` opens models; the default reads model files."""
        super().__init__()
        self._model_loader = model_loader
        self._lock = threading.Lock()
        self._wake_posted = False
        self._job: Any = None
        self._cancel = threading.Event()
        self.frame_requests: LatestSlot[tuple[int, int]] = LatestSlot()
        self.cursor_requests: LatestSlot[tuple[np.ndarray, np.ndarray | None]] = LatestSlot()
        self.thumbnail_requests: LatestSlot[int] = LatestSlot()
        self._device_requests: LatestSlot[str] = LatestSlot()
        self._keyframe_thumbnails: list[int] = []  # few and all wanted: not latest-wins
        self._vae: Any = None
        self._model_path: Path | None = None
        self._reader: Any = None
        """Reads the trajectory's frames: a video, a library's videos, or None."""
        self._joined: Any = None  # the JoinedLibrary of an open library
        self._trajectory: Any = None
        self._codes_used: int | None = None
        self._decoded_rows: OrderedDict[int, np.ndarray] = OrderedDict()
        """The frames of the rows decoded last (a latent step's frames are scrubbed one
        by one), newest last; emptied with the trajectory or model."""
        self._device = "auto"
        self.comparison_requests: LatestSlot[tuple[int, int]] = LatestSlot()
        self._comparison_end: LatestSlot[bool] = LatestSlot()
        self._compared_vae: Any = None
        self._compared: Any = None  # the second model's Trajectory
        self._compared_decoded: tuple[int, np.ndarray] | None = None
        self._wake.connect(self._process)

    # --- called from the GUI thread -------------------------------------------------

    def open(self, video: Path, model: Path, trajectory: Any = None,
             pca_state: dict | None = None, trust_code: bool = False,
             selection: dict | None = None) -> None:
        self._submit(OpenVideo(Path(video), Path(model), trajectory, pca_state, trust_code,
                               selection))

    def export(self, job: ExportClip) -> None:
        self._submit(job)

    def traverse(self, job: RenderTraversal) -> None:
        self._submit(job)

    def train(self, video: Path, output: Path, settings: Any) -> None:
        """Train on ``video`` with ``settings`` (TrainSettings) and save to ``output``."""
        self._submit(TrainModel(Path(video), Path(output), settings))

    def request_frame(self, index: int, within: int = 0) -> int:
        """Ask for trajectory row ``index``'s frame and reconstruction (of a latent step,
        its frame ``within``); returns the request's stamp."""
        return self._request(self.frame_requests, (index, within))

    def request_cursor(self, latent: np.ndarray, context: np.ndarray | None = None) -> int:
        """Ask for what one latent (flat or shaped) decodes to; returns its stamp.

        A video autoencoder decodes it as a latent step after the ``context`` steps [c, D]
        (the ones before it in the video or the path; none: as a video's first step), into
        the frames the step stands for.
        """
        context = None if context is None else np.array(context, dtype=np.float32)
        return self._request(self.cursor_requests, (np.array(latent, dtype=np.float32), context))

    def request_thumbnail(self, index: int, within: int = 0) -> int:
        """A hover thumbnail of trajectory point ``index`` (of its frame ``within`` a
        latent step); newer requests replace it."""
        return self._request(self.thumbnail_requests, (index, within))

    def request_keyframe_thumbnail(self, index: int) -> None:
        """A thumbnail for a keyframe's list entry; every such request is answered."""
        with self._lock:
            self._keyframe_thumbnails.append(index)
        self._post_wake()

    def set_device(self, device: str) -> None:
        """Use ``device`` (auto, cpu, cuda, mps) for the open model and the next ones.

        A running job finishes on the old device; the change applies right after it.
        """
        self._request(self._device_requests, device)

    def cancel(self) -> None:
        """Stop the running job at its next batch."""
        self._cancel.set()

    # --- plumbing ---------------------------------------------------------------------

    def _submit(self, job: Any) -> None:
        """Queue ``job`` after the running one; opening a video cancels what runs instead."""
        with self._lock:
            self._job = job
        if isinstance(job, OpenVideo):
            self._cancel.set()
        self._post_wake()

    def _request(self, slot: LatestSlot, value: Any) -> int:
        stamp = slot.put(value)
        self._post_wake()
        return stamp

    def _post_wake(self) -> None:
        """Queue one wake-up for the worker thread; requests made meanwhile share it."""
        with self._lock:
            if self._wake_posted:
                return
            self._wake_posted = True
        self._wake.emit()

    # --- runs on the worker thread --------------------------------------------------

    @Slot()
    def _process(self) -> None:
        with self._lock:
            self._wake_posted = False
            job, self._job = self._job, None
        device = self._device_requests.take()
        if device is not None:
            self._guarded(self._change_device, device[1])
            self.deviceChanged.emit(self._device)
        if self._comparison_end.take() is not None:
            self._release_comparison()
        self.serve_previews()
        if job is not None:
            self._cancel.clear()
            run = {OpenVideo: self._open, TrainModel: self._train, ExportClip: self._export,
                   RenderTraversal: self._traverse, CompareModel: self._compare}
            outcome = self._guarded(run[type(job)], job)
            if isinstance(job, OpenVideo) and outcome != "done":
                self.openFailed.emit(str(job.video), str(job.model))
            self.jobFinished.emit(outcome)

    def serve_previews(self) -> None:
        """Answer the newest pending preview of each kind; called between job batches too.

        torch runs on all cores but one meanwhile: previews are asked for while the window
        draws (a new trajectory, a drag), and a torch pool on every core takes the GUI
        thread's. On 2 cores the window's event loop stalled 22–71 ms as a 1,000-frame
        trajectory opened, and 19–45 ms with previews on one torch thread.
        """
        if self._vae is None:
            return
        with leave_cores(1):
            for slot, answer in (
                (self.frame_requests, self._frame_preview),
                (self.comparison_requests, self._comparison_preview),
                (self.cursor_requests, self._cursor_preview),
                (self.thumbnail_requests, self._thumbnail),
            ):
                request = slot.take()
                if request is not None:
                    self._guarded(answer, *request)
            with self._lock:
                wanted, self._keyframe_thumbnails = self._keyframe_thumbnails, []
            for index in wanted:
                self._guarded(self._thumbnail, 0, (index, 0), self.keyframeThumbnailReady)

    def _frame_preview(self, stamp: int, request: tuple[int, int]) -> None:
        trajectory = self._trajectory
        if trajectory is None:
            return
        index = int(np.clip(request[0], 0, len(trajectory) - 1))
        first, last = trajectory.frames_of(index)
        within = int(np.clip(request[1], 0, last - first))
        original, missing = self._original(first + within)
        reconstruction = self._decoded_row(index)[within]
        self.framePreviewReady.emit(
            FramePreview(stamp, index, first + within, original, reconstruction, missing))

    def _original(self, frame: int) -> tuple[np.ndarray | None, str]:
        """Video frame ``frame``, or None and why not: a library's video may have moved
        since it was encoded, and its latents are still worth seeing."""
        if self._reader is None:
            return None, "the video is not available"
        if self._joined is None:
            return self._reader.frame(frame), ""
        try:
            return self._reader.frame(frame), ""
        except (ExplorerError, OSError) as exc:
            return None, describe_error(exc)

    def _decoded_row(self, row: int) -> np.ndarray:
        from explorer.pipeline.decode import decode_row

        if row in self._decoded_rows:
            self._decoded_rows.move_to_end(row)
        else:
            self._decoded_rows[row] = decode_row(self._vae, self._trajectory, row)
            while len(self._decoded_rows) > self.ROWS_KEPT:
                self._decoded_rows.popitem(last=False)
        return self._decoded_rows[row]

    def _cursor_preview(self, stamp: int, request: tuple[np.ndarray, np.ndarray | None]) -> None:
        from explorer.model.contract import is_temporal
        from explorer.pipeline.decode import decode_after

        latent, context = request
        shaped = latent.reshape(1, *self._vae.latent_shape)
        if is_temporal(self._vae):
            frames = decode_after(self._vae, context, shaped)
        else:
            frames = guard.decode(self._vae, shaped)
        self.cursorReady.emit(CursorPreview(stamp, frames))

    def _thumbnail(self, stamp: int, place: tuple[int, int], signal: Any = None) -> None:
        import cv2

        index, within = place
        trajectory = self._trajectory
        if trajectory is None or not 0 <= index < len(trajectory):
            return
        frame = self._original(trajectory.frame_at(index, within))[0]
        if frame is None:
            return
        scale = self.THUMBNAIL_SIZE / max(frame.shape[:2])
        size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
        image = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        (signal or self.thumbnailReady).emit(Thumbnail(stamp, index, image))

    def _open(self, job: OpenVideo) -> None:
        """Until both files are open, what was open stays open: a file that fails to open
        changes nothing."""
        from explorer.latent.projection import PCAProjection, projection_from_state
        from explorer.latent.trajectory import TRAJECTORY_SUFFIX, Trajectory
        from explorer.library.joined import is_library
        from explorer.pipeline.decode import check_decodable
        from explorer.video.reader import open_video

        video, trajectory, source = job.video, job.trajectory, "the session's trajectory"
        joined = None
        if is_library(video):
            joined = self._open_library(video, trajectory)
            trajectory, source = joined.trajectory, str(video)
        elif trajectory is None and video.suffix.lower() == TRAJECTORY_SUFFIX:
            self.status.emit(f"Reading {video.name}…")
            trajectory, source = Trajectory.load(video), str(video)
            video = Path(trajectory.meta.get("video", {}).get("path") or video.with_suffix(""))
        self.status.emit(f"Loading model {job.model.name}…")
        vae = self._load_model(job.model, job.trust_code)
        freeze_loaded_libraries()
        if trajectory is not None:
            check_decodable(trajectory, vae, source, job.model.name)
        layouts = {} if joined is None or job.pca_state is not None else \
            self._library_layouts(video, joined)
        if joined is not None:
            from explorer.library.joined import LibraryFrames

            reader = LibraryFrames(joined)
        # a trajectory encoded elsewhere is browsed without its video where that is missing
        elif trajectory is not None and not video.is_file():
            reader = None
        else:
            reader = open_video(video)
        self._release_files()
        self._release_comparison()
        self._vae, self._reader, self._model_path = vae, reader, job.model
        self._joined = joined
        self.opened.emit(str(video), str(job.model))
        self._announce_model()
        if trajectory is None:
            trajectory, outcome = self._encode(job)
        elif joined is not None:
            outcome = f"of {len(joined.videos)} videos"
        else:
            outcome = "restored" if reader is not None else "restored (the video is not available)"
        if "pca" in layouts:
            projection = layouts.pop("pca")
        elif job.pca_state is None:
            projection = PCAProjection.fit(trajectory.mu)
        else:
            projection = projection_from_state(job.pca_state, trajectory.mu)
        self._trajectory = trajectory
        self._decoded_rows.clear()
        self.trajectoryReady.emit(trajectory, projection)
        if layouts:
            self.layoutsReady.emit(layouts)
        self._codes_used = guard.codes_used(vae, trajectory.latents())  # a VQ model's
        if self._codes_used is not None:
            self._announce_model()
        rows = "latent steps" if trajectory.is_temporal else "frames"
        self.status.emit(f"{len(trajectory)} {rows} {outcome}")

    def _open_library(self, folder: Path, saved: Any) -> Any:
        """The library at ``folder`` joined, or its trajectory ``saved`` in a session."""
        from explorer.library.catalog import load_library
        from explorer.library.joined import join_library, rejoin_library

        self.status.emit(f"Reading the library {folder.name}…")
        library = load_library(folder)
        if saved is not None:
            return rejoin_library(folder, library, saved)
        return join_library(folder, library)

    def _library_layouts(self, folder: Path, joined: Any) -> dict:
        """The library's shared map as layouts of its joined trajectory; none (the window
        fits a PCA) before the library has one."""
        from explorer.library.shared_map import library_layouts

        if joined.library.shared_map is None:
            return {}
        return library_layouts(folder, joined.library, joined.trajectory.mu, list(joined.videos))

    def _encode(self, job: OpenVideo) -> tuple[Any, str]:
        from explorer.pipeline.cache import TrajectoryCache
        from explorer.pipeline.encode import EncodeProgress, Selection, encode_with_cache

        self.status.emit(f"Encoding {job.video.name}…")

        def progress(update: EncodeProgress) -> None:
            self.jobProgress.emit(update.done, update.expected or -1)
            self.trajectoryGrew.emit(update.mu)
            self.serve_previews()

        trajectory, cached = encode_with_cache(
            job.video,
            job.model,
            self._vae,
            Selection(**(job.selection or {}), measure_error=True),
            cache=TrajectoryCache(),
            on_progress=progress,
            should_stop=self._cancel.is_set,
        )
        return trajectory, "from the cache" if cached else "encoded"

    def _export(self, job: ExportClip) -> None:
        from explorer.pipeline.export import Originals, export_clip, save_recipe, shown_beside

        if self._vae is None:
            raise ExplorerError("open a model before exporting")
        self.status.emit(f"Exporting {Path(job.output).name}…")
        originals = None
        if job.settings.side_by_side:  # the nearest real frame beside every frame
            if self._trajectory is None or self._reader is None:
                raise ExplorerError("a side-by-side clip needs the video, which is not open "
                                    "(this trajectory's video was not found)")
            shown = shown_beside(self._vae, job.recipe.latents, self._trajectory, job.frames)
            if self._joined is not None:  # labelled with each frame's video
                shown = self._joined.labelled(shown)
            originals = Originals(shown, self._reader.frame)

        def progress(update: Any) -> None:
            self.jobProgress.emit(update.done, update.total)

        latents = job.recipe.latents.reshape(len(job.recipe.latents), *self._vae.latent_shape)
        written = export_clip(
            latents,
            self._vae,
            job.output,
            job.settings,
            originals,
            progress,
            self._cancel.is_set,
            self.serve_previews,
        )
        save_recipe(job.recipe, written)
        self.status.emit(f"Exported {written.name}")
        self.clipExported.emit(str(written))

    def _traverse(self, job: RenderTraversal) -> None:
        from explorer.analysis.traversal_file import TraversalRequest, write_traversal
        from explorer.pipeline.export import panel_size

        if self._vae is None or self._trajectory is None:
            raise ExplorerError("open a video and a model before saving a traversal")
        self.status.emit(f"Saving the traversal {Path(job.output).name}…")

        def progress(done: int, total: int) -> None:
            if self._cancel.is_set():
                raise Cancelled("the traversal was not saved")
            self.jobProgress.emit(done, total)
            self.serve_previews()

        request = TraversalRequest(job.row, job.picked, job.steps, job.deviations,
                                   panel_size(self._vae.frame_size, None))
        write_traversal(self._vae, self._trajectory, job.axes, request, job.output,
                        overwrite=True, on_progress=progress)  # the dialog asked
        self.status.emit(f"Saved {Path(job.output).name}")
        self.clipExported.emit(job.output)

    def _train(self, job: TrainModel) -> None:
        from explorer.model.files import save_model
        from explorer.model.training import train_beta_vae

        self.status.emit(f"Training on {job.video.name}…")

        def on_event(event: Any) -> None:
            self.trainEvent.emit(event)
            self.serve_previews()

        result = train_beta_vae(job.video, job.settings, on_event, self._cancel.is_set)
        if result.epochs_completed == 0:
            raise Cancelled("training stopped before the first epoch ended")
        save_model(result.vae, job.output, result.record)
        self.status.emit(f"Saved {job.output.name} after {result.epochs_completed} epochs")
        self.modelSaved.emit(str(job.output))

    def _load_model(self, path: Path, trust_code: bool) -> Any:
        if self._model_loader is not None:
            return self._model_loader(path, self._device)
        from explorer.model.open import open_model

        return open_model(path, device=self._device, trust_code=trust_code)

    def _change_device(self, device: str) -> None:
        """Move the model; on a failure it stays where it was, and so does the choice."""
        from explorer.model.devices import resolve_device

        resolve_device(device)  # a device this machine lacks is refused before anything moves
        if self._vae is not None:
            self._vae.to(device)
        if self._compared_vae is not None:
            self._compared_vae.to(device)
        self._device = device
        if self._vae is not None:
            self._announce_model()

    def _announce_model(self) -> None:
        from explorer.model.devices import available_devices, describe_device

        info = {**self._vae.describe(), "device_label": describe_device(self._vae.device),
                "devices": available_devices(), "device_choice": self._device,
                "path": str(self._model_path)}
        if self._codes_used is not None:
            info["codes_used"] = self._codes_used
        self.modelReady.emit(info)

    # --- a second model, for a comparison (Model › Compare With…) ----------------------

    def compare(self, model: Path, trust_code: bool = False) -> None:
        """Load ``model`` beside the open one and encode the open trajectory's frames with
        it; answers ``comparisonReady``. Called from the GUI thread."""
        self._submit(CompareModel(Path(model), trust_code))

    def request_comparison(self, index: int, within: int = 0) -> int:
        """Ask for the second model's reconstruction of the frame row ``index`` shows (of a
        latent step, its frame ``within``) and its difference from the first's; returns
        the stamp. Called from the GUI thread."""
        return self._request(self.comparison_requests, (index, within))

    def end_comparison(self) -> None:
        """Let the second model go. Called from the GUI thread."""
        self._request(self._comparison_end, True)

    def _compare(self, job: CompareModel) -> None:
        from explorer.latent.projection import PCAProjection
        from explorer.model.contract import is_temporal
        from explorer.pipeline.cache import TrajectoryCache
        from explorer.pipeline.encode import EncodeProgress, Selection, encode_with_cache
        from explorer.state.comparison import check_comparable

        reference = self._trajectory
        check_comparable(reference, self._joined is not None)
        video = Path(reference.meta.get("video", {}).get("path") or "")
        if self._reader is None or not video.is_file():
            raise ExplorerError("the open video is not available, so the second model cannot "
                                "encode it")
        self.status.emit(f"Loading model {job.model.name}…")
        vae = self._load_model(job.model, job.trust_code)
        self.status.emit(f"Encoding {video.name} with {job.model.name}…")
        chosen = _frames_to_compare(reference, is_temporal(vae))

        def progress(update: EncodeProgress) -> None:
            self.jobProgress.emit(update.done, update.expected or -1)
            self.serve_previews()

        trajectory, _ = encode_with_cache(video, job.model, vae,
                                          Selection(**chosen, measure_error=True),
                                          cache=TrajectoryCache(), on_progress=progress,
                                          should_stop=self._cancel.is_set)
        self._comparison_end.take()  # an End asked meanwhile was of the comparison before
        self._release_comparison()
        self._compared_vae, self._compared = vae, trajectory
        self._compared_decoded = None
        info = {**vae.describe(), "path": str(job.model)}
        self.comparisonReady.emit(str(job.model), trajectory, PCAProjection.fit(trajectory.mu),
                                  info)
        self.status.emit(f"Comparing with {job.model.name}")

    def _comparison_preview(self, stamp: int, request: tuple[int, int]) -> None:
        from explorer.analysis.compare import difference_image

        compared, trajectory = self._compared, self._trajectory
        if compared is None or trajectory is None or not 0 <= request[0] < len(trajectory):
            return
        row, within = request
        first, last = trajectory.frames_of(row)
        within = int(np.clip(within, 0, last - first))
        frame = first + within
        position = compared.position_of_frame(frame)
        if position is None:
            self.comparisonPreviewReady.emit(ComparisonPreview(stamp, -1, frame, None, None))
            return
        frames = self._compared_row(position[0])
        reconstruction = frames[min(position[1], len(frames) - 1)]
        mine = self._decoded_row(row)[within]
        self.comparisonPreviewReady.emit(ComparisonPreview(
            stamp, position[0], frame, reconstruction, difference_image(mine, reconstruction)))

    def _compared_row(self, row: int) -> np.ndarray:
        """The second model's frames of its ``row``; the last row's kept, as scrubbing
        through a latent step's frames decodes the step once."""
        from explorer.pipeline.decode import decode_row

        if self._compared_decoded is None or self._compared_decoded[0] != row:
            self._compared_decoded = (row, decode_row(self._compared_vae, self._compared, row))
        return self._compared_decoded[1]

    def _release_comparison(self) -> None:
        self._compared_vae = self._compared = self._compared_decoded = None

    def _guarded(self, action: Callable, *args: Any) -> str:
        try:
            action(*args)
        except Cancelled:
            self.status.emit("Cancelled")
            return "cancelled"
        except (ExplorerError, OSError) as exc:
            self.failed.emit(describe_error(exc))
            return "failed"
        except SystemExit as exc:  # only a model's own code calls sys.exit() on this thread
            self.failed.emit(guard.describe_failure("it was in use", exc))
            return "failed"
        except Exception as exc:  # a model that raises must not kill the worker
            traceback.print_exc()
            self.failed.emit(f"unexpected error: {describe_error(exc, with_type=True)}")
            return "failed"
        return "done"

    def _release_files(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = self._trajectory = self._codes_used = self._joined = None
        self._decoded_rows.clear()

    def release(self) -> None:
        """Close files; only once the thread has stopped."""
        self._release_files()


class WorkerThread:
    """Starts the worker in its own thread and joins it on close."""

    def __init__(self, model_loader: ModelLoader | None = None) -> None:
        self.thread = QThread()
        self.thread.setObjectName("inference-worker")
        self.worker = InferenceWorker(model_loader)
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def close(self, timeout_ms: int = 10_000) -> bool:
        """Cancel running work, stop the thread and wait for it; False if it did not stop."""
        self.worker.cancel()
        self.thread.quit()
        stopped = self.thread.wait(timeout_ms)
        if stopped:
            self.worker.release()
        return stopped


def _frames_to_compare(reference: Trajectory, temporal: bool) -> dict[str, int]:
    """The frames a second model encodes (as :class:`~explorer.pipeline.encode.Selection`
    fields): the open trajectory's, or for a video autoencoder, which takes every frame,
    all of the range they span."""
    first, last = reference.frames_of(0)[0], reference.frames_of(len(reference) - 1)[1]
    steps = np.unique(np.diff(reference.frame_index))
    regular = reference.last_frame is None and len(steps) == 1
    stride = 1 if temporal or not regular else int(steps[0])
    return {"start": first, "end": last + 1, "stride": stride}
