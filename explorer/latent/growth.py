"""The part of a video encoded so far, laid out while encoding goes on.

Axes fitted on the first batch stay put, so the picture grows instead of jumping each
time a batch arrives; the full PCA replaces it when the video is encoded.
"""

from __future__ import annotations

import numpy as np


class GrowingLayout:
    """Collects each batch's latents as 2-D points on the first batch's principal axes."""

    def __init__(self) -> None:
        self._mean: np.ndarray | None = None
        self._axes: np.ndarray | None = None
        self._points: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(points) for points in self._points)

    def add(self, batch: np.ndarray) -> None:
        """Lay out the latents ``batch`` [B, D] of the frames that follow those seen."""
        from explorer.latent.projection import principal_axes

        flat = np.asarray(batch, np.float64).reshape(len(batch), -1)
        if self._axes is None:
            self._mean, self._axes = principal_axes(flat, 2)
        self._points.append(((flat - self._mean) @ self._axes.T).astype(np.float32))

    @property
    def embedding(self) -> np.ndarray:
        """[frames so far, 2]."""
        if not self._points:
            return np.zeros((0, 2), np.float32)
        return np.concatenate(self._points)
