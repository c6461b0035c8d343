"""Keyframes: the latents a clip passes through, and the path interpolated between them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.errors import ExplorerError
from explorer.latent.interpolate import interpolate
from explorer.latent.trajectory import Trajectory


@dataclass(frozen=True)
class Keyframe:
    """A latent to pass through: a video frame's, or a probe's (a place that is no frame)."""

    latent: np.ndarray
    """Flat [D] float32."""
    frame: int | None = None
    """The video frame number when the keyframe is a real frame."""

    def record(self) -> dict[str, Any]:
        """JSON-able description; probes keep their latent so the clip can be rebuilt."""
        if self.frame is not None:
            return {"frame": self.frame}
        return {"latent": [float(v) for v in self.latent]}


@dataclass(frozen=True)
class ClipPath:
    latents: np.ndarray
    """[steps, D] float32."""
    frames: list[int | None]
    """For each step, the video frame it shows exactly (a keyframe that is a frame), or None."""


def keyframes_at_frames(trajectory: Trajectory, frames: Sequence[int]) -> list[Keyframe]:
    """Keyframes for video frame numbers, which must be in the trajectory; a frame inside
    a temporal model's latent step picks that step (and is remembered as its first frame)."""
    rows = [trajectory.row_of_frame(int(frame)) for frame in frames]
    if None in rows:
        missing = frames[rows.index(None)]
        first = int(trajectory.frame_index[0])
        last = int((trajectory.frame_index if trajectory.last_frame is None
                    else trajectory.last_frame)[-1])
        raise ExplorerError(
            f"frame {missing} is not in the trajectory (it has {len(trajectory)} "
            f"{'latent steps' if trajectory.is_temporal else 'frames'}, frames {first}–{last}); "
            "pick keyframes among the encoded frames"
        )
    return [Keyframe(trajectory.mu[row].astype(np.float32), trajectory.frames_of(row)[0])
            for row in rows]


def clip_path(
    keyframes: Sequence[Keyframe], steps: int, method: str = "slerp", easing: str = "linear"
) -> ClipPath:
    """Interpolate through ``keyframes`` in ``steps`` frames.

    The ends are the first and last keyframes exactly. An inner keyframe usually falls
    between two steps (the path runs at constant speed); the step nearest to it is moved
    onto it, less than half a step, so the clip shows every keyframe exactly.
    """
    if len(keyframes) < 2:
        raise ExplorerError("a clip needs at least two keyframes")
    if steps < len(keyframes):
        raise ExplorerError(f"{len(keyframes)} keyframes need at least {len(keyframes)} steps")
    stacked = np.stack([k.latent.reshape(-1) for k in keyframes]).astype(np.float32)
    latents = interpolate(stacked, steps, method=method, easing=easing).astype(np.float32)
    frames: list[int | None] = [None] * len(latents)
    taken = {0, len(latents) - 1}
    for position, keyframe in enumerate(keyframes):
        if position == 0:
            step = 0
        elif position == len(keyframes) - 1:
            step = len(latents) - 1
        else:
            distances = np.linalg.norm(latents - stacked[position], axis=1)
            distances[list(taken)] = np.inf
            step = int(np.argmin(distances))
            taken.add(step)
            latents[step] = stacked[position]
        frames[step] = keyframe.frame
    return ClipPath(latents, frames)
