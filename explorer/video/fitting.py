"""Fit video frames to a model's input size by scaling and cropping or padding."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

FitMode = Literal["crop", "letterbox"]


def fit_frames(frames: np.ndarray, size: tuple[int, int], mode: FitMode = "crop") -> np.ndarray:
    """Scale RGB ``uint8`` frames to ``size = (H, W)``, keeping their aspect ratio.

    ``frames`` is ``[N, h, w, 3]`` or a single ``[h, w, 3]`` frame; the result has the
    same layout at the new size. ``"crop"`` covers the whole ``H x W`` area and cuts
    the overflow equally from both sides; ``"letterbox"`` shows the whole frame and
    pads the rest with black, centred. Frames already at ``size`` are returned as they
    are, without a copy.
    """
    check_fit(size, mode)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
        raise ValueError(
            f"expected uint8 frames shaped [N, h, w, 3] or [h, w, 3], "
            f"got {frames.dtype} {frames.shape}"
        )
    if frames.shape[-3:-1] == tuple(size):
        return frames
    plan = plan_fit(tuple(frames.shape[-3:-1]), tuple(size), mode)
    if frames.ndim == 3:
        return plan.apply(frames)
    fitted = np.empty((len(frames), *size, 3), np.uint8)
    for i, frame in enumerate(frames):
        fitted[i] = plan.apply(frame)
    return fitted


def check_fit(size: tuple[int, int], mode: str) -> None:
    """Raise ValueError unless ``size`` is a positive (H, W) and ``mode`` a FitMode."""
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"size must be a positive (height, width), got {size}")
    if mode not in ("crop", "letterbox"):
        raise ValueError(f"mode must be 'crop' or 'letterbox', got {mode!r}")


@dataclass(frozen=True)
class FitPlan:
    """How frames of one size fit another.

    :meth:`apply` does it all with OpenCV. A video decoder can do better: scale the
    whole frame to ``scaled`` while it converts it to RGB (one pass over the full-size
    frame instead of two), then :meth:`place` it; ``decoder_scales`` says when that is
    worth it.
    """

    frame: tuple[int, int]
    """The source (h, w)."""
    size: tuple[int, int]
    """The target (H, W)."""
    mode: FitMode
    scale: float
    scaled: tuple[int, int]
    """The whole frame scaled: just covering ``size`` (crop) or just inside it."""

    @property
    def shrinking(self) -> bool:
        """Whether frames get smaller (area averaging fits) or larger (bilinear)."""
        return self.scale < 1

    @property
    def decoder_scales(self) -> bool:
        """Whether scaling the whole frame first costs little more than the target
        itself; not so for crops of extreme aspect ratios, which :meth:`apply` cuts
        before scaling."""
        return self.scaled[0] * self.scaled[1] <= 4 * self.size[0] * self.size[1]

    @property
    def window(self) -> tuple[int, int, int, int]:
        """The part of the source frame the model sees: (top, left, height, width) in
        source pixels; the whole frame when letterboxed."""
        (height, width), (h, w) = self.size, self.frame
        if self.mode != "crop":
            return 0, 0, h, w
        window_h = max(1, min(h, round(height / self.scale)))
        window_w = max(1, min(w, round(width / self.scale)))
        return (h - window_h) // 2, (w - window_w) // 2, window_h, window_w

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Fit one frame [h, w, 3] with OpenCV: crop then scale, or scale then pad."""
        if self.mode == "crop":
            top, left, window_h, window_w = self.window
            return _resize(frame[top : top + window_h, left : left + window_w], self)
        return self.place(_resize(frame, self))

    def place(self, scaled: np.ndarray) -> np.ndarray:
        """Cut the centred window (crop), or centre the frame on black (letterbox)."""
        (height, width), (h, w) = self.size, scaled.shape[:2]
        if (h, w) == self.size:
            return np.ascontiguousarray(scaled)
        if self.mode == "crop":
            top, left = (h - height) // 2, (w - width) // 2
            return np.ascontiguousarray(scaled[top : top + height, left : left + width])
        canvas = np.zeros((height, width, 3), np.uint8)
        top, left = (height - h) // 2, (width - w) // 2
        canvas[top : top + h, left : left + w] = scaled
        return canvas


@functools.lru_cache(maxsize=64)
def plan_fit(frame: tuple[int, int], size: tuple[int, int], mode: FitMode) -> FitPlan:
    """The plan for frames of ``frame`` = (h, w) to fit ``size`` = (H, W)."""
    (h, w), (height, width) = frame, size
    if mode == "crop":
        scale = max(height / h, width / w)
        scaled = (max(height, round(h * scale)), max(width, round(w * scale)))
    else:
        scale = min(height / h, width / w)
        scaled = (min(height, max(1, round(h * scale))), min(width, max(1, round(w * scale))))
    return FitPlan((h, w), (height, width), mode, scale, scaled)


def _resize(frame: np.ndarray, plan: FitPlan) -> np.ndarray:
    """``frame`` at the size the plan scales it to, with the plan's kind of filter."""
    height, width = plan.size if plan.mode == "crop" else plan.scaled
    if frame.shape[:2] == (height, width):
        return np.ascontiguousarray(frame)
    interpolation = cv2.INTER_AREA if plan.shrinking else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interpolation)
