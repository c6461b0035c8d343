"""Decoding latents into frames, for either kind of model.

A per-frame model decodes each latent alone, one frame each. A temporal model (Wan,
CogVideoX...) decodes latent steps as a video: a step's frames depend on the steps before
it, and a causal model decodes a lone step as a video's first step, one frame. So a step is
decoded after ``context`` steps that come before it, whose frames are then dropped; a long
path of steps is decoded in windows the same way, so memory stays that of one window
however long the path is.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory
from explorer.model import guard
from explorer.model.contract import AnyVAE, TemporalVideoVAE, is_temporal
from explorer.model.video_vae.rule import CONTEXT_STEPS, FrameRule


def check_decodable(trajectory: Trajectory, vae: AnyVAE, source: str, model: str,
                    what: str = "the video") -> None:
    """A one-line error unless ``vae`` can decode the rows of ``trajectory`` (read from
    ``source``): latents of its shape, and latent steps that cover frames as its own do,
    or one latent a frame for a per-frame model. The message says to encode ``what``
    again."""
    advice = f"encode {what} with this model first"
    if tuple(trajectory.latent_shape) != tuple(vae.latent_shape):
        raise ExplorerError(f"{source} holds latents of shape {tuple(trajectory.latent_shape)} "
                            f"but {model} makes {tuple(vae.latent_shape)}; {advice}")
    rule = vae.rule if is_temporal(vae) else None
    if trajectory.frame_rule != rule:
        raise ExplorerError(f"{source} holds {_rows(trajectory.frame_rule)}, but {model} makes "
                            f"{_rows(rule)}; {advice}")


def _rows(rule: FrameRule | None) -> str:
    return f"latent steps ({rule.describe()})" if rule else "one latent a frame"


def decode_after(vae: TemporalVideoVAE, context: np.ndarray | None,
                 steps: np.ndarray) -> np.ndarray:
    """The frames latent ``steps`` decode to when they follow the ``context`` steps (None
    or none for a video's first steps): ``[frames_for(c + n) - frames_for(c), *frame_size,
    3]``. Both are flat ``[n, D]`` or shaped ``[n, *latent_shape]``."""
    steps = np.asarray(steps, np.float32).reshape(-1, *vae.latent_shape)
    if context is None:
        context = steps[:0]
    context = np.asarray(context, np.float32).reshape(-1, *vae.latent_shape)
    frames = guard.decode_steps(vae, np.concatenate([context, steps]))
    return frames[vae.frames_for(len(context)):]


def decode_row(vae: AnyVAE, trajectory: Trajectory, row: int,
               context: int = CONTEXT_STEPS) -> np.ndarray:
    """The frames trajectory row ``row`` decodes to: ``[k, *frame_size, 3]``, one for a
    per-frame model, the ``k`` frames the step covers for a temporal one (after ``context``
    steps, at least one, of the trajectory before it)."""
    if not is_temporal(vae):
        return guard.decode(vae, trajectory.latents(slice(row, row + 1)))
    first, last = trajectory.frames_of(row)
    begin = max(0, row - max(1, context))
    frames = decode_after(vae, trajectory.latents(slice(begin, row)),
                          trajectory.latents(slice(row, row + 1)))
    return frames[: last - first + 1]


def frames_per_step(vae: AnyVAE, steps: int) -> np.ndarray:
    """``[steps]``: how many frames each latent of a path of ``steps`` decodes to, in
    order (a causal model's first step: one; the others ``temporal_stride``)."""
    if not is_temporal(vae):
        return np.ones(steps, np.int64)
    spans = vae.step_frames(vae.frames_for(steps))
    return spans[:, 1] - spans[:, 0] + 1


def latents_per_batch(vae: AnyVAE, frames: int) -> int:
    """Latents a batch of about ``frames`` decoded frames takes (a temporal model's steps
    each decode to several)."""
    return max(1, frames // vae.temporal_stride) if is_temporal(vae) else frames


def decoded_frame_count(vae: AnyVAE, steps: int) -> int:
    """The frames a path of ``steps`` latents decodes to."""
    return vae.frames_for(steps) if is_temporal(vae) else steps


def decode_path(vae: AnyVAE, latents: np.ndarray, batch: int,
                context: int = CONTEXT_STEPS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Decode a path of ``latents`` ``[S, *latent_shape]`` as one clip, ``batch`` latents at
    a time: yields ``(step, frames)``, the latent each frame comes from and the frames,
    in order. A temporal model decodes each batch after ``context`` steps of the path
    before it, so the frames are those of the path decoded whole, but for the context a
    window cannot see."""
    per_step = frames_per_step(vae, len(latents))
    for start in range(0, len(latents), max(1, batch)):
        stop = min(start + max(1, batch), len(latents))
        if is_temporal(vae):
            frames = decode_after(vae, latents[max(0, start - max(1, context)):start],
                                  latents[start:stop])
        else:
            frames = guard.decode(vae, latents[start:stop])
        yield np.repeat(np.arange(start, stop), per_step[start:stop]), frames
