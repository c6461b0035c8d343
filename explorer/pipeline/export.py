"""Rendering a latent path into a clip.

Latents are decoded in batches on the calling thread (in the app, the inference worker,
which serves previews between batches); a writer thread encodes the finished frames into
the clip meanwhile, so decoding and video encoding overlap, and the model leaves the
writer a core (:func:`~explorer.pipeline.prefetch.leave_cores`). The clip is written to a
temporary name and renamed into place when complete (see ``explorer.video.writer``).
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from explorer.errors import Cancelled, ExplorerError
from explorer.fileio import atomic_output
from explorer.model.contract import VideoVAE
from explorer.pipeline.prefetch import leave_cores
from explorer.video.fitting import fit_frames
from explorer.video.writer import ClipWriter, format_for_path

ResizeFilter = Literal["nearest", "bilinear", "bicubic", "lanczos"]
FILTERS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
}
_QUEUE_FRAMES = 64  # frames waiting for the encoder: bounds memory, keeps both busy


@dataclass(frozen=True)
class ExportSettings:
    fps: float = 24.0
    size: int | None = None
    """Longest side of the decoded panel in pixels; None keeps the model's frame size."""
    resize_filter: ResizeFilter = "lanczos"
    quality: int = 23
    """CRF-like: 0 best, 51 worst (MP4/WebM)."""
    side_by_side: bool = False
    """Put the original frame beside each decoded one where the path is a real frame."""
    frame_counter: bool = False
    ping_pong: bool = False
    """Play forward then backward, for a seamless loop."""
    overwrite: bool = False
    batch_size: int = 16


@dataclass(frozen=True)
class ExportProgress:
    done: int
    total: int


@dataclass
class ClipRecipe:
    """What is needed to regenerate a clip exactly; saved beside it as JSON + ``.npy``."""

    latents: np.ndarray
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def export_clip(
    latents: np.ndarray,
    vae: VideoVAE,
    output: str | os.PathLike[str],
    settings: ExportSettings = ExportSettings(),
    originals: Sequence[np.ndarray | None] | None = None,
    on_progress: Callable[[ExportProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    between_batches: Callable[[], None] | None = None,
) -> Path:
    """Decode ``latents`` [N, *latent_shape] and write them as a clip at ``output``.

    ``originals[i]``, when given and not None, is the real frame that step ``i`` passes
    through (used by ``side_by_side``). Returns the written path.
    """
    latents = np.asarray(latents, dtype=np.float32)
    if len(latents) == 0:
        raise ExplorerError("there are no latents to export")
    order = _frame_order(len(latents), settings.ping_pong)
    writer = ClipWriter(
        output, settings.fps, quality=settings.quality, overwrite=settings.overwrite
    )
    with writer, _BackgroundWriter(writer, order) as sink, leave_cores():
        for start in range(0, len(latents), settings.batch_size):
            if should_stop and should_stop():
                raise Cancelled("export cancelled")
            rows = np.arange(start, min(start + settings.batch_size, len(latents)))
            decoded = vae.decode(latents[rows])
            for row, image in zip(rows, decoded, strict=True):
                original = originals[row] if originals is not None else None
                sink.frames[int(row)] = compose_frame(
                    image, original, int(row), len(latents), settings
                )
            sink.flush_in_order()
            if on_progress:
                on_progress(ExportProgress(sink.sent, len(order)))
            if between_batches:
                between_batches()
    return writer.path


def compose_frame(
    decoded: np.ndarray,
    original: np.ndarray | None,
    index: int,
    total: int,
    settings: ExportSettings,
) -> np.ndarray:
    """One output frame: the decoded image resized, with its original and counter if asked."""
    panel = resize_longest(decoded, settings.size, settings.resize_filter)
    if settings.side_by_side:
        if original is None:
            left = np.full_like(panel, 24)
        else:
            left = fit_frames(original, panel.shape[:2], "crop")
        panel = np.concatenate([left, panel], axis=1)
    if settings.frame_counter:
        panel = draw_counter(panel, f"{index + 1}/{total}")
    return np.ascontiguousarray(panel)


def resize_longest(image: np.ndarray, size: int | None, resize_filter: ResizeFilter) -> np.ndarray:
    if size is None or max(image.shape[:2]) == size:
        return image
    scale = size / max(image.shape[:2])
    width = max(1, round(image.shape[1] * scale))
    height = max(1, round(image.shape[0] * scale))
    return cv2.resize(image, (width, height), interpolation=FILTERS[resize_filter])


def draw_counter(image: np.ndarray, text: str) -> np.ndarray:
    """White text with a dark outline in the bottom-left corner, scaled to the frame."""
    image = image.copy()
    scale = max(0.35, image.shape[0] / 400)
    thickness = max(1, round(scale * 2))
    origin = (round(6 * scale) + 2, image.shape[0] - round(8 * scale) - 2)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, text, origin, font, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(image, text, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def save_recipe(recipe: ClipRecipe, clip: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``.latents.npy`` and ``.clip.json`` beside a clip (inside a PNG folder)."""
    clip = Path(clip)
    if format_for_path(clip) == "png":
        latents_path, json_path = clip / "latents.npy", clip / "clip.json"
    else:
        latents_path = clip.with_name(f"{clip.name}.latents.npy")
        json_path = clip.with_name(f"{clip.name}.clip.json")
    with atomic_output(latents_path) as temp, open(temp, "wb") as handle:
        np.save(handle, recipe.latents.astype(np.float32), allow_pickle=False)
    document = {
        "clip": clip.name,
        "frames": len(recipe.latents),
        "latents": latents_path.name,
        "keyframes": recipe.keyframes,
        "settings": recipe.settings,
    }
    with atomic_output(json_path) as temp:
        temp.write_text(json.dumps(document, indent=2) + "\n")
    return latents_path, json_path


def _frame_order(count: int, ping_pong: bool) -> list[int]:
    forward = list(range(count))
    return forward + forward[-2:0:-1] if ping_pong and count > 2 else forward


class _BackgroundWriter:
    """Feeds finished frames to a ClipWriter on its own thread, in clip order."""

    def __init__(self, writer: ClipWriter, order: list[int]) -> None:
        self._writer = writer
        self._order = order
        self._last_use = {index: position for position, index in enumerate(order)}
        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="clip-writer", daemon=True)
        self.frames: dict[int, np.ndarray] = {}
        self.sent = 0
        self._order_position = 0

    def __enter__(self) -> _BackgroundWriter:
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._queue.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def flush_in_order(self) -> None:
        """Send every frame whose turn has come; ping-pong frames stay until their last use."""
        while self._order_position < len(self._order):
            index = self._order[self._order_position]
            if index not in self.frames:
                break
            self._put(self.frames[index])
            if self._last_use[index] == self._order_position:
                del self.frames[index]
            self._order_position += 1
            self.sent += 1

    def _put(self, frame: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._writer.write(frame)
            except BaseException as exc:  # surfaced on the decoding thread
                self._error = exc
