"""The latents the analyses compare, in few enough numbers to compare them quickly."""

from __future__ import annotations

import numpy as np

from explorer.latent.projection import principal_axes

FEATURES = 32
"""Principal components kept: enough for the distances between a video's frames, few
enough that clustering and neighbour searches stay fast on image-shaped latents."""


def reduced(latents: np.ndarray, components: int = FEATURES) -> np.ndarray:
    """``latents`` [N, ...] as centred float64 rows [N, ≤ components]: their coordinates
    on the leading principal axes, or the centred latents themselves when they have no
    more numbers than that (a rotation would change no distance)."""
    flat = np.asarray(latents).reshape(len(latents), -1)
    if flat.shape[1] <= components:
        return flat.astype(np.float64) - flat.mean(axis=0, dtype=np.float64)
    return along(flat, *principal_axes(flat, components))


def along(flat: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Coordinates [N, K] (float64) of flat latents [N, D] along unit ``axes`` [K, D]
    about ``mean`` [D]."""
    # In the latents' own precision: a copy of 10,000 image latents in float64 is gigabytes.
    product = flat @ axes.T.astype(flat.dtype if flat.dtype.kind == "f" else np.float64)
    return product.astype(np.float64) - mean @ axes.T


def step_lengths(features: np.ndarray) -> np.ndarray:
    """[N - 1]: how far each row is from the next."""
    return np.linalg.norm(np.diff(features, axis=0), axis=1)

