"""Rendering a latent path into a clip.

Three stages overlap. A producer thread decodes the latents in batches, with torch
leaving the video encoder a core (:func:`~explorer.pipeline.prefetch.leave_cores`); the
calling thread (in the app, the inference worker, which serves previews between
batches, never while the producer decodes) composes the frames and hands them to the
clip writer, whose own thread encodes them. So the model decodes on a thread that is
new for every export. Decoding is usually the cheap stage, and it runs politely (at the
lowest priority while it keeps ahead, see :func:`~explorer.pipeline.prefetch.prefetch`)
so that it fills the idle moments of the encoder's frame threads instead of stalling
them: on 2 cores the export runs at about 0.9 of the writer's own speed instead of 0.8.
The clip is written to a temporary name and renamed into place when complete (see
``explorer.video.writer``).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from explorer.errors import Cancelled, ExplorerError
from explorer.fileio import atomic_output
from explorer.latent.keyframes import Keyframe
from explorer.model import guard
from explorer.model.contract import VideoVAE
from explorer.model.identity import model_location
from explorer.pipeline.prefetch import leave_cores, prefetch
from explorer.video.fitting import fit_frames
from explorer.video.writer import (
    PNG_RECIPE_NAMES,
    ClipWriter,
    ResizeFilter,
    format_for_path,
    resize_frame,
)


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


def build_recipe(
    latents: np.ndarray,
    settings: ExportSettings,
    *,
    keyframes: Sequence[Keyframe] = (),
    method: str | None = None,
    easing: str | None = None,
    model: str | os.PathLike[str],
    model_identity: str | None,
    video: str | os.PathLike[str] | None = None,
) -> ClipRecipe:
    """The recipe of a clip of ``latents`` exported with ``settings``, however it was made.

    ``keyframes``, ``method`` and ``easing`` say how the path was interpolated (none of
    them for latents rendered as they are); ``model_identity`` is the model's
    :func:`~explorer.model.identity.model_identity`, which the caller usually knows
    already; ``video``, when given, is the video the keyframes come from.
    """
    recorded = {
        **asdict(settings),
        "method": method,
        "easing": easing,
        "model": model_location(model),
        "model_identity": model_identity,
    }
    if video is not None:
        recorded["video"] = str(Path(video).expanduser().resolve())
    return ClipRecipe(latents, [keyframe.record() for keyframe in keyframes], recorded)


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
        output,
        settings.fps,
        quality=settings.quality,
        overwrite=settings.overwrite,
        size=clip_size(vae.frame_size, settings),
        resize_filter=settings.resize_filter,
    )
    sink = _InClipOrder(writer, order)
    model_in_use = threading.Lock()  # previews between batches wait for the decoder

    def decoded_batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(latents), settings.batch_size):
            rows = np.arange(start, min(start + settings.batch_size, len(latents)))
            with model_in_use:
                decoded = guard.decode(vae, latents[rows])
            yield rows, decoded

    batches = prefetch(decoded_batches(), polite=True, thread_context=leave_cores)
    with writer, contextlib.closing(batches):
        for rows, decoded in batches:
            if should_stop and should_stop():
                raise Cancelled("export cancelled")
            for row, image in zip(rows, decoded, strict=True):
                original = originals[row] if originals is not None else None
                sink.frames[int(row)] = compose_frame(
                    image, original, int(row), len(latents), settings
                )
            sink.flush()
            if on_progress:
                on_progress(ExportProgress(sink.sent, len(order)))
            if between_batches:
                with model_in_use:
                    between_batches()
    return writer.path


def compose_frame(
    decoded: np.ndarray,
    original: np.ndarray | None,
    index: int,
    total: int,
    settings: ExportSettings,
) -> np.ndarray:
    """One output frame: the decoded image with its original and counter, if asked.

    A frame with neither is left at the model's size: the writer scales it to
    :func:`clip_size` as it converts it to the video's colours, in one pass.
    """
    if not (settings.side_by_side or settings.frame_counter):
        return decoded
    panel = resize_frame(
        decoded, panel_size(decoded.shape[:2], settings.size), settings.resize_filter
    )
    if settings.side_by_side:
        if original is None:
            left = np.full_like(panel, 24)
        else:
            left = fit_frames(original, panel.shape[:2], "crop")
        panel = np.concatenate([left, panel], axis=1)
    if settings.frame_counter:
        panel = draw_counter(panel, f"{index + 1}/{total}")
    return np.ascontiguousarray(panel)


def panel_size(frame_size: tuple[int, int], longest: int | None) -> tuple[int, int]:
    """A frame's (width, height) once its longest side is ``longest`` px (None: unscaled).

    ``frame_size`` is the frame's (H, W).
    """
    height, width = frame_size
    if longest is None or max(height, width) == longest:
        return width, height
    scale = longest / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def clip_size(frame_size: tuple[int, int], settings: ExportSettings) -> tuple[int, int]:
    """(width, height) of the clip exported from a model of ``frame_size`` = (H, W)."""
    width, height = panel_size(frame_size, settings.size)
    return (2 * width if settings.side_by_side else width), height


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


def recipe_paths(clip: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Where :func:`save_recipe` writes the latents and the JSON of ``clip``."""
    png = format_for_path(clip) == "png"  # before Path() drops a trailing "/"
    clip = Path(clip)
    if png:
        return clip / PNG_RECIPE_NAMES[0], clip / PNG_RECIPE_NAMES[1]
    return clip.with_name(f"{clip.name}.latents.npy"), clip.with_name(f"{clip.name}.clip.json")


def save_recipe(
    recipe: ClipRecipe, clip: str | os.PathLike[str], overwrite: bool = True
) -> tuple[Path, Path]:
    """Write ``.latents.npy`` and ``.clip.json`` beside a clip (inside a PNG folder).

    Without ``overwrite``, existing recipe files are never replaced (an error instead).
    """
    latents_path, json_path = recipe_paths(clip)
    clip = Path(clip)
    with atomic_output(latents_path, overwrite) as temp, open(temp, "wb") as handle:
        np.save(handle, recipe.latents.astype(np.float32), allow_pickle=False)
    document = {
        "clip": clip.name,
        "frames": len(recipe.latents),
        "latents": latents_path.name,
        "keyframes": recipe.keyframes,
        "settings": recipe.settings,
    }
    with atomic_output(json_path, overwrite) as temp:
        temp.write_text(json.dumps(document, indent=2) + "\n")
    return latents_path, json_path


def _frame_order(count: int, ping_pong: bool) -> list[int]:
    forward = list(range(count))
    return forward + forward[-2:0:-1] if ping_pong and count > 2 else forward


class _InClipOrder:
    """Holds decoded frames until their turn in the clip; ping-pong frames until their last."""

    def __init__(self, writer: ClipWriter, order: list[int]) -> None:
        self._writer = writer
        self._order = order
        self._last_use = {index: position for position, index in enumerate(order)}
        self.frames: dict[int, np.ndarray] = {}
        self.sent = 0

    def flush(self) -> None:
        """Write every frame whose turn has come."""
        while self.sent < len(self._order):
            index = self._order[self.sent]
            if index not in self.frames:
                break
            self._writer.write(self.frames[index])
            if self._last_use[index] == self.sent:
                del self.frames[index]
            self.sent += 1
