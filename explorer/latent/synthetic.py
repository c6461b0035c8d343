"""Made-up trajectories of any length, for measuring the app at scale (``explorer bench``).

No video or model is needed: a million frames of 16-d latents take about a second.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from explorer.latent.trajectory import Trajectory

FPS = 24.0
# How much of each frame's step it keeps from the one before: near 1 is a smooth, slowly
# turning path (the map shows strands and loops), 0 would be a jittery random walk.
_MOMENTUM = 0.98


def random_walk_trajectory(count: int, dim: int = 16, seed: int = 0) -> Trajectory:
    """A ``count``-frame trajectory of ``dim``-d latents at 24 fps: a smooth random walk
    (each step mostly the last one, a little turned), scaled to unit spread along each
    dimension. ``mu`` and ``logvar`` are float32 (``count × dim × 4`` bytes each); no
    embedding, no video."""
    if count < 1 or dim < 1:
        raise ValueError(f"need at least one frame and one dimension, not {count} × {dim}")
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((count, dim), dtype=np.float32)
    # float32 coefficients keep the filter in float32: half the memory
    steps = lfilter(np.float32([1.0 - _MOMENTUM]), np.float32([1.0, -_MOMENTUM]), steps, axis=0)
    mu = np.cumsum(steps, axis=0, dtype=np.float32)
    mu -= mu.mean(axis=0)
    mu /= np.maximum(mu.std(axis=0), np.float32(1e-12))
    frames = np.arange(count, dtype=np.int64)
    return Trajectory(
        mu=mu,
        logvar=np.full((count, dim), -4.0, np.float32),
        frame_index=frames,
        time_s=frames / FPS,
        meta={"video": {"fps": FPS}, "synthetic": f"random walk, seed {seed}"},
    )
