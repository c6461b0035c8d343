"""2-D views of a latent trajectory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PCAProjection:
    """Principal components of the latents: instant, and exactly invertible in its plane."""

    mean: np.ndarray
    components: np.ndarray  # [2, D], orthonormal rows

    @classmethod
    def fit(cls, latents: np.ndarray) -> PCAProjection:
        flat = latents.reshape(len(latents), -1).astype(np.float64)
        mean = flat.mean(axis=0)
        centred = flat - mean
        if len(flat) < 2 or not np.any(centred):
            components = np.eye(2, flat.shape[1])
        else:
            _, _, vt = np.linalg.svd(centred, full_matrices=False)
            components = np.zeros((2, flat.shape[1]))
            components[: len(vt[:2])] = vt[:2]
        return cls(mean, components)

    def embed(self, latents: np.ndarray) -> np.ndarray:
        flat = latents.reshape(len(latents), -1)
        return ((flat - self.mean) @ self.components.T).astype(np.float32)
