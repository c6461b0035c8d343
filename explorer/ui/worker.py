"""The inference worker: the only place where the GUI touches the model.

It lives in its own ``QThread``. The GUI thread never waits on it: it posts requests and
gets answers as signals. Frame previews are *latest wins*: one pending slot that newer
requests overwrite, and a stamp on each answer so the GUI can drop stale ones. Long jobs
(opening a video and encoding it) serve the pending preview between batches, report
progress and can be cancelled. Errors come back as one-line messages; the worker keeps
serving.

torch is imported here lazily, on the worker thread, so the window appears first.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from explorer.errors import Cancelled, ExplorerError


@dataclass(frozen=True)
class OpenRequest:
    video: Path
    model: Path


@dataclass(frozen=True)
class FramePreview:
    stamp: int
    index: int
    original: np.ndarray
    reconstruction: np.ndarray


class InferenceWorker(QObject):
    """Owns the model, the video reader and the device; see the module docstring."""

    status = Signal(str)
    modelReady = Signal(dict)
    encodeProgress = Signal(int, int)  # frames done, frames expected (-1 when unknown)
    trajectoryReady = Signal(object)  # explorer.latent.trajectory.Trajectory
    previewReady = Signal(object)  # FramePreview
    failed = Signal(str)
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending_open: OpenRequest | None = None
        self._pending_preview: tuple[int, int] | None = None
        self._cancel = threading.Event()
        self._stamp = 0
        self._wake_posted = False
        self._vae: Any = None
        self._reader: Any = None
        self._trajectory: Any = None
        self._wake.connect(self._process)

    # --- called from the GUI thread -------------------------------------------------

    def open(self, video: Path, model: Path) -> None:
        """Load ``model`` and encode ``video``, replacing whatever was open."""
        with self._lock:
            self._pending_open = OpenRequest(Path(video), Path(model))
            self._cancel.set()  # a newer open supersedes a running one
        self._post_wake()

    def request_preview(self, index: int) -> int:
        """Ask for frame ``index`` and its reconstruction; returns the request's stamp."""
        with self._lock:
            self._stamp += 1
            self._pending_preview = (self._stamp, index)
            stamp = self._stamp
        self._post_wake()
        return stamp

    def cancel(self) -> None:
        """Stop the running job at its next batch."""
        self._cancel.set()

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
        self._serve_preview()
        with self._lock:
            request, self._pending_open = self._pending_open, None
            if request is not None:
                self._cancel.clear()
        if request is not None:
            self._guarded(self._open, request)

    def _serve_preview(self) -> None:
        with self._lock:
            pending, self._pending_preview = self._pending_preview, None
        if pending is None or self._trajectory is None:
            return
        stamp, index = pending
        self._guarded(self._preview, stamp, index)

    def _preview(self, stamp: int, index: int) -> None:
        trajectory = self._trajectory
        index = int(np.clip(index, 0, len(trajectory) - 1))
        original = self._reader.frame(int(trajectory.frame_index[index]))
        reconstruction = self._vae.decode(trajectory.latents(slice(index, index + 1)))[0]
        self.previewReady.emit(FramePreview(stamp, index, original, reconstruction))

    def _open(self, request: OpenRequest) -> None:
        from explorer.latent.projection import PCAProjection
        from explorer.model.devices import describe_device
        from explorer.model.files import load_model
        from explorer.pipeline.cache import TrajectoryCache
        from explorer.pipeline.encode import encode_with_cache
        from explorer.video.reader import open_video

        self.status.emit(f"Loading model {request.model.name}…")
        vae = load_model(request.model, device="auto")
        reader = open_video(request.video)
        self._close_video()
        self._vae, self._reader = vae, reader
        self.modelReady.emit({**vae.describe(), "device_label": describe_device(vae.device)})

        self.status.emit(f"Encoding {request.video.name}…")

        def progress(update) -> None:
            self.encodeProgress.emit(update.done, update.expected or -1)
            self._serve_preview()

        trajectory, _ = encode_with_cache(
            request.video,
            request.model,
            vae,
            cache=TrajectoryCache(),
            on_progress=progress,
            should_stop=self._cancel.is_set,
        )
        trajectory.embedding = PCAProjection.fit(trajectory.mu).embed(trajectory.mu)
        trajectory.meta["projection"] = {"kind": "pca"}
        self._trajectory = trajectory
        self.trajectoryReady.emit(trajectory)
        self.status.emit("Ready")

    def _guarded(self, job, *args) -> None:
        try:
            job(*args)
        except Cancelled:
            self.status.emit("Cancelled")
        except ExplorerError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a model that raises must not kill the worker
            traceback.print_exc()
            self.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}")

    def _close_video(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader = self._trajectory = None

    def release(self) -> None:
        """Close files; only once the thread has stopped."""
        self._close_video()


class WorkerThread:
    """Starts the worker in its own thread and joins it on close."""

    def __init__(self) -> None:
        self.thread = QThread()
        self.thread.setObjectName("inference-worker")
        self.worker = InferenceWorker()
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
