"""What the frame views show: the worker's previews, asked for and painted latest-first.

The worker answers each kind of preview with the newest request only (see
``explorer.ui.worker``); every request returns a stamp, and an answer whose stamp is not
the newest is never painted. This client remembers what each cursor request was for (the
probe at a map position, or a step of the clip's preview) so its caption says so, and
puts "decoding…" where an answer is slow in coming.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from explorer.model.video_vae.rule import CONTEXT_STEPS
from explorer.state.app import AppState
from explorer.ui.frame_view import FrameView
from explorer.ui.worker import CursorPreview, FramePreview, InferenceWorker, Thumbnail

BUSY_AFTER_MS = 250  # a preview slower than this shows "decoding…"


class PreviewClient(QObject):
    """Keeps the Original, Reconstruction and Cursor views up to date with the state."""

    frameShown = Signal()
    """The current frame and its reconstruction are on screen."""
    hoverThumbnail = Signal(int, object)  # row, image: the newest hover thumbnail
    keyframeThumbnail = Signal(int, object)  # video frame number, image

    def __init__(self, worker: InferenceWorker, state: AppState, original: FrameView,
                 reconstruction: FrameView, cursor: FrameView,
                 probe_position: Callable[[], tuple[float, float]]) -> None:
        """``probe_position`` says where the probe is drawn on the map, for captions."""
        super().__init__(cursor)
        self.worker, self.state = worker, state
        self.original, self.reconstruction, self.cursor = original, reconstruction, cursor
        self._probe_position = probe_position
        self._frame_stamp = self._cursor_stamp = self._hover_stamp = 0
        self._frame_shown = self._cursor_shown = 0  # the stamps of the images on screen
        self._cursor_caption = ""
        self._busy = QTimer(self, singleShot=True, interval=BUSY_AFTER_MS)
        self._busy.timeout.connect(self._show_decoding)
        worker.framePreviewReady.connect(self._on_frame)
        worker.cursorReady.connect(self._on_cursor)
        worker.thumbnailReady.connect(self._on_hover_thumbnail)
        worker.keyframeThumbnailReady.connect(self._on_keyframe_thumbnail)

    def on_state_changed(self, aspect: str) -> None:
        """Connected by the window after the map's binding, which places the probe first."""
        if aspect == "documents":
            for view in (self.original, self.reconstruction, self.cursor):
                view.clear()
            self.show_frame()
        elif aspect == "frame":
            self.show_frame()
        elif aspect in ("probe", "projection"):  # the probe moved, or is drawn elsewhere
            self.show_probe()

    def show_frame(self) -> None:
        """Ask for the current frame and its reconstruction."""
        if self.state.trajectory is not None:
            self._frame_stamp = self.worker.request_frame(self.state.frame, self.state.within)
            self._busy.start()

    def show_probe(self) -> None:
        """Ask for what the probe decodes to. A video autoencoder decodes it as the
        current latent step would be, after the steps before that one."""
        trajectory = self.state.trajectory
        if self.state.probe is None:
            return
        x, y = self._probe_position()
        caption = f"decoded at ({x:.2f}, {y:.2f})"
        context = None
        if trajectory is not None and trajectory.is_temporal:
            row = self.state.frame
            context = trajectory.latents(slice(max(0, row - CONTEXT_STEPS), row))
            caption += f" as step {row}"
        self._request_cursor(self.state.probe, caption, context)

    def show_clip_step(self, step: int, count: int, latent: np.ndarray) -> None:
        """Ask for one step of the clip's preview (a video autoencoder's: after the
        path's steps before it)."""
        trajectory, path = self.state.trajectory, self.state.clip_path
        if trajectory is not None and trajectory.is_temporal and path is not None:
            context = path.latents[max(0, step - CONTEXT_STEPS):step]
            self._request_cursor(latent, f"clip preview: step {step + 1} of {count}", context)
        else:
            self._request_cursor(latent, f"clip preview: frame {step + 1} of {count}")

    def show_hover(self, row: int) -> None:
        if row >= 0 and self.state.trajectory is not None:
            self._hover_stamp = self.worker.request_thumbnail(row)

    def ask_keyframe_thumbnail(self, frame: int) -> None:
        row = self.state.row_of_frame(frame)
        if row is not None:
            self.worker.request_keyframe_thumbnail(row)

    def _request_cursor(self, latent: np.ndarray, caption: str,
                        context: np.ndarray | None = None) -> None:
        self._cursor_stamp = self.worker.request_cursor(latent, context)
        self._cursor_caption = caption
        self._busy.start()

    def _show_decoding(self) -> None:
        """Slow models (large frames on a CPU) take seconds: say so where the image goes."""
        if self._frame_stamp != self._frame_shown:
            self.reconstruction.set_caption("decoding…")
        if self._cursor_stamp != self._cursor_shown:
            self.cursor.set_caption("decoding…")

    def _on_frame(self, preview: FramePreview) -> None:
        trajectory = self.state.trajectory
        if preview.stamp != self._frame_stamp or trajectory is None:
            return  # an older request answered late: never paint it
        self._frame_shown = preview.stamp
        step = f"  ·  step {preview.index}" if trajectory.is_temporal else ""
        caption = f"{self.state.describe_frame(preview.frame)}{step}"
        if preview.original is None:
            self.original.show_message(preview.missing, caption)
        else:
            self.original.set_frame(preview.original, caption)
            self._outline_crop(preview.original.shape[:2], trajectory.meta)
        caption = "decoded from μ"
        if trajectory.psnr_db is not None:
            over = " (the step's)" if trajectory.is_temporal else ""
            caption += f"  ·  PSNR {trajectory.psnr_db[preview.index]:.1f} dB{over}"
        self.reconstruction.set_frame(preview.reconstruction, caption)
        self.frameShown.emit()

    def _outline_crop(self, frame: tuple[int, int], meta: dict) -> None:
        """Frame, on the original, the part of it the model sees."""
        from explorer.video.fitting import plan_fit  # loaded by the worker already

        size, mode = meta.get("frame_size"), meta.get("fit_mode")
        if size and mode:
            self.original.set_outline(*plan_fit(frame, tuple(size), mode).window)

    def _on_cursor(self, preview: CursorPreview) -> None:
        if preview.stamp == self._cursor_stamp:
            self._cursor_shown = preview.stamp
            trajectory = self.state.trajectory
            fps = (trajectory.meta.get("video", {}).get("fps") if trajectory else None) or 25.0
            self.cursor.set_loop(preview.frames, fps, self._cursor_caption)

    def _on_hover_thumbnail(self, thumbnail: Thumbnail) -> None:
        if thumbnail.stamp == self._hover_stamp:
            self.hoverThumbnail.emit(thumbnail.index, thumbnail.image)

    def _on_keyframe_thumbnail(self, thumbnail: Thumbnail) -> None:
        if self.state.trajectory is not None:
            self.keyframeThumbnail.emit(self.state.frame_number(thumbnail.index),
                                        thumbnail.image)
