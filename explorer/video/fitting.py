"""Fit video frames to a model's input size by scaling and cropping or padding."""

from __future__ import annotations

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
    height, width = size
    if height < 1 or width < 1:
        raise ValueError(f"size must be a positive (height, width), got {size}")
    if mode not in ("crop", "letterbox"):
        raise ValueError(f"mode must be 'crop' or 'letterbox', got {mode!r}")
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
        raise ValueError(
            f"expected uint8 frames shaped [N, h, w, 3] or [h, w, 3], "
            f"got {frames.dtype} {frames.shape}"
        )
    if frames.shape[-3:-1] == (height, width):
        return frames
    fit = _crop if mode == "crop" else _letterbox
    if frames.ndim == 3:
        return fit(frames, height, width)
    fitted = np.empty((len(frames), height, width, 3), np.uint8)
    for i, frame in enumerate(frames):
        fitted[i] = fit(frame, height, width)
    return fitted


def _crop(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Cut the centred window with the target aspect ratio, then scale it to size."""
    h, w = frame.shape[:2]
    scale = max(height / h, width / w)
    window_h = max(1, min(h, round(height / scale)))
    window_w = max(1, min(w, round(width / scale)))
    top, left = (h - window_h) // 2, (w - window_w) // 2
    window = frame[top : top + window_h, left : left + window_w]
    return _resize(window, height, width, scale)


def _letterbox(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale the whole frame to fit inside the target, centred on black."""
    h, w = frame.shape[:2]
    scale = min(height / h, width / w)
    inner_h = max(1, min(height, round(h * scale)))
    inner_w = max(1, min(width, round(w * scale)))
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - inner_h) // 2, (width - inner_w) // 2
    canvas[top : top + inner_h, left : left + inner_w] = _resize(frame, inner_h, inner_w, scale)
    return canvas


def _resize(frame: np.ndarray, height: int, width: int, scale: float) -> np.ndarray:
    """Resize with area averaging when shrinking (no aliasing), bilinear when enlarging."""
    if frame.shape[:2] == (height, width):
        return np.ascontiguousarray(frame)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(frame, (width, height), interpolation=interpolation)
