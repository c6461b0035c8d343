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
import functools
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
from explorer.latent.trajectory import Trajectory
from explorer.model.contract import AnyVAE, is_temporal
from explorer.model.identity import model_location
from explorer.pipeline.decode import (
    decode_path,
    decoded_frame_count,
    frames_per_step,
    latents_per_batch,
)
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
    """Put a real frame beside each decoded one: the step's own frame where the path passes
    through one, else the nearest (see :func:`shown_beside`), labelled with its number."""
    frame_counter: bool = False
    ping_pong: bool = False
    """Play forward then backward, for a seamless loop."""
    overwrite: bool = False
    batch_size: int = 16


@dataclass(frozen=True)
class ExportProgress:
    done: int
    total: int


@dataclass(frozen=True)
class ShownFrame:
    """The video frame shown beside one step of a side-by-side clip."""

    frame: int
    exact: bool
    """The step is this frame's own latent (a keyframe); otherwise the frame is the nearest."""

    @property
    def label(self) -> str:
        # "~", not "≈": OpenCV's fonts draw ASCII only
        return f"frame {self.frame}" if self.exact else f"~ frame {self.frame}"


@dataclass(frozen=True)
class Originals:
    """Where a side-by-side export takes its left panels from."""

    shown: Sequence[ShownFrame]
    """One per frame of the clip (see :func:`shown_beside`)."""
    read: Callable[[int], np.ndarray]
    """Video frame number to its RGB frame; called on the thread that calls
    :func:`export_clip`, once for each run of frames that show the same one, so the
    frames are never all held at once."""


NEAREST_BLOCK_VALUES = 1 << 22
"""Floats in each block of distances (and of trajectory rows) :func:`nearest_frames`
works on: 16 MB, however long the trajectory or wide its latents."""


def nearest_frames(
    latents: np.ndarray,
    trajectory_mu: np.ndarray,
    frame_index: np.ndarray,
    exact: Sequence[int | None] | None = None,
) -> list[ShownFrame]:
    """For each step of a path, the video frame to show beside it in a side-by-side clip.

    ``latents`` [steps, ...] is the path; ``trajectory_mu`` [N, ...] and ``frame_index``
    [N] are a trajectory's latents and their video frame numbers. ``exact``, when given,
    is per step the frame the step shows exactly, or None (``ClipPath.frames``): those
    frames are kept, so a keyframe shows itself even where two frames share its latent.
    Every other step gets the frame whose latent is nearest to it (euclidean; the
    earliest of equals).
    """
    steps = np.asarray(latents, np.float32).reshape(len(latents), -1)
    mu = np.asarray(trajectory_mu).reshape(len(trajectory_mu), -1)
    known = [None] * len(steps) if exact is None else list(exact)
    if len(known) != len(steps):
        raise ExplorerError(f"{len(known)} exact frames given for a path of {len(steps)} steps")
    if len(mu) != len(frame_index):
        raise ExplorerError(f"{len(mu)} trajectory latents but {len(frame_index)} frame numbers")
    wanted = [step for step, frame in enumerate(known) if frame is None]
    if wanted and (len(mu) == 0 or mu.shape[1] != steps.shape[1]):
        raise ExplorerError(
            f"the path's latents have {steps.shape[1]} numbers a step but the trajectory's "
            f"{mu.shape[1] if len(mu) else 'none'}"
        )
    rows = dict(zip(wanted, _nearest_rows(steps[wanted], mu), strict=True)) if wanted else {}
    return [
        ShownFrame(int(frame_index[rows[step]]), False) if frame is None
        else ShownFrame(int(frame), True)
        for step, frame in enumerate(known)
    ]


def shown_beside(
    vae: AnyVAE,
    latents: np.ndarray,
    trajectory: Trajectory,
    exact: Sequence[int | None] | None = None,
) -> list[ShownFrame]:
    """For each frame of the clip ``latents`` decode to, the video frame to show beside it.

    Each latent shows the frame :func:`nearest_frames` chooses. A temporal model's step
    decodes to several frames, and shows the frames of the trajectory's step it is nearest
    to, in step: the path's frames and the video's advance together, aligned on the step's
    last frame (a causal model's lone first step is a step's last frame).
    """
    per_step = nearest_frames(latents, trajectory.mu, trajectory.frame_index, exact)
    if not is_temporal(vae):
        return per_step
    shown = []
    for step, length in zip(per_step, frames_per_step(vae, len(latents)), strict=True):
        row = trajectory.row_of_frame(step.frame)
        first, last = (step.frame, step.frame) if row is None else trajectory.frames_of(row)
        shown += [ShownFrame(max(first, last - behind), step.exact)
                  for behind in range(int(length) - 1, -1, -1)]
    return shown


def _nearest_rows(points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of ``points`` [P, D], the index of its nearest of ``rows`` [N, D], taking
    the rows a block at a time so that memory stays bounded however many there are."""
    point_norms = np.einsum("ij,ij->i", points, points)
    best = np.full(len(points), np.inf, np.float32)
    best_row = np.zeros(len(points), np.intp)
    block = max(1, NEAREST_BLOCK_VALUES // max(len(points), rows.shape[1]))
    everyone = np.arange(len(points))
    for start in range(0, len(rows), block):
        chunk = np.asarray(rows[start : start + block], np.float32)
        # squared distances, |point|² - 2 point·row + |row|², as one matrix product
        distances = point_norms[:, None] - 2 * (points @ chunk.T)
        distances += np.einsum("ij,ij->i", chunk, chunk)[None, :]
        nearest = np.argmin(distances, axis=1)
        closest = distances[everyone, nearest]
        closer = closest < best
        best[closer], best_row[closer] = closest[closer], start + nearest[closer]
    return best_row


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
    vae: AnyVAE,
    output: str | os.PathLike[str],
    settings: ExportSettings = ExportSettings(),
    originals: Originals | None = None,
    on_progress: Callable[[ExportProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    between_batches: Callable[[], None] | None = None,
) -> Path:
    """Decode ``latents`` [N, *latent_shape] and write them as a clip at ``output``.

    A per-frame model makes a frame of each latent; a temporal model decodes them as
    latent steps, into :func:`~explorer.pipeline.decode.decoded_frame_count` frames.
    ``originals`` gives the real frame beside each of the clip's frames, and is needed by
    ``side_by_side``. Returns the written path.
    """
    latents = np.asarray(latents, dtype=np.float32)
    if len(latents) == 0:
        raise ExplorerError("there are no latents to export")
    count = decoded_frame_count(vae, len(latents))
    if settings.side_by_side and (originals is None or len(originals.shown) != count):
        raise ExplorerError(
            "a side-by-side export needs a video frame beside each of the clip's frames")
    order = _frame_order(count, settings.ping_pong)
    writer = ClipWriter(
        output,
        settings.fps,
        quality=settings.quality,
        overwrite=settings.overwrite,
        size=clip_size(vae.frame_size, settings),
        resize_filter=settings.resize_filter,
    )
    sink = _InClipOrder(writer, order, settings.frame_counter)
    model_in_use = threading.Lock()  # previews between batches wait for the decoder
    left_panel = None
    if originals is not None and settings.side_by_side:
        width, height = panel_size(vae.frame_size, settings.size)
        left_panel = _left_panels(originals, (height, width))

    def decoded_batches() -> Iterator[np.ndarray]:
        path = decode_path(vae, latents, latents_per_batch(vae, settings.batch_size))
        while True:
            with model_in_use:
                batch = next(path, None)
            if batch is None:
                return
            yield batch[1]

    batches = prefetch(decoded_batches(), polite=True, thread_context=leave_cores)
    with writer, contextlib.closing(batches):
        position = 0
        for decoded in batches:
            if should_stop and should_stop():
                raise Cancelled("export cancelled")
            for image in decoded:
                left = left_panel(position) if left_panel else None
                sink.frames[position] = compose_frame(image, settings, left)
                position += 1
            sink.flush()
            if on_progress:
                on_progress(ExportProgress(sink.sent, len(order)))
            if between_batches:
                with model_in_use:
                    between_batches()
    return writer.path


def compose_frame(
    decoded: np.ndarray, settings: ExportSettings, left: np.ndarray | None = None
) -> np.ndarray:
    """One output frame before its counter: the decoded image, after ``left`` (the
    original's panel, see :func:`original_panel`) when there is one.

    A frame with neither original nor counter is left at the model's size: the writer
    scales it to :func:`clip_size` as it converts it to the video's colours, in one pass.
    """
    if not (settings.side_by_side or settings.frame_counter):
        return decoded
    panel = resize_frame(
        decoded, panel_size(decoded.shape[:2], settings.size), settings.resize_filter
    )
    if left is not None:
        panel = np.concatenate([left, panel], axis=1)
    return np.ascontiguousarray(panel)


def original_panel(frame: np.ndarray, shown: ShownFrame, size: tuple[int, int]) -> np.ndarray:
    """The left half of a side-by-side frame: the video ``frame`` cropped to ``size`` =
    (H, W), labelled with its number at the top."""
    return draw_label(fit_frames(frame, size, "crop"), shown.label, at_top=True)


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


def _left_panels(originals: Originals, size: tuple[int, int]) -> Callable[[int], np.ndarray]:
    """The clip's frame number to its :func:`original_panel` of ``size`` = (H, W); a run
    of frames that show the same video frame reads and labels it once."""

    @functools.lru_cache(maxsize=1)
    def panel(shown: ShownFrame) -> np.ndarray:
        return original_panel(originals.read(shown.frame), shown, size)

    return lambda step: panel(originals.shown[step])


LABEL_BACKING = 0.55
"""How far the box behind a label darkens the picture: white text reads on white frames."""


def draw_label(image: np.ndarray, text: str, at_top: bool = False) -> np.ndarray:
    """A copy of ``image`` with ``text`` in white on a translucent dark box, in its
    bottom-left corner (top-left ``at_top``), scaled to the frame and narrowed to fit it."""
    image = image.copy()
    height, width = image.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.35, height / 400)
    pad = margin = max(2, round(4 * scale))
    room = width - 2 * (margin + pad)
    while True:  # glyph widths are whole pixels: narrowing may take a second try
        thickness = max(1, round(scale * 2))
        (text_width, text_height), baseline = cv2.getTextSize(text, font, scale, thickness)
        if text_width <= room or scale < 0.1:
            break
        scale *= 0.95 * max(room, 1) / text_width
    box_height = text_height + baseline + 2 * pad
    top = margin if at_top else max(0, height - margin - box_height)
    box = image[top : top + box_height, margin : margin + text_width + 2 * pad]
    box[...] = box * (1 - LABEL_BACKING)
    origin = (margin + pad, top + pad + text_height)
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
    """Holds composed frames until their turn in the clip; ping-pong frames until their
    last. The counter goes on as a frame is written: it numbers the clip's frames, so on
    the way back of a ping-pong it goes on counting up."""

    def __init__(self, writer: ClipWriter, order: list[int], counter: bool) -> None:
        self._writer = writer
        self._order = order
        self._counter = counter
        self._last_use = {index: position for position, index in enumerate(order)}
        self.frames: dict[int, np.ndarray] = {}
        self.sent = 0

    def flush(self) -> None:
        """Write every frame whose turn has come."""
        while self.sent < len(self._order):
            index = self._order[self.sent]
            if index not in self.frames:
                break
            frame = self.frames[index]
            if self._counter:
                frame = draw_label(frame, f"{self.sent + 1}/{len(self._order)}")
            self._writer.write(frame)
            if self._last_use[index] == self.sent:
                del self.frames[index]
            self.sent += 1
