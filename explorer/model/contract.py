"""The one interface every autoencoder meets, whatever its origin.

The app, the pipeline and the CLI talk to models only through :class:`VideoVAE`: numpy
arrays in, numpy arrays out, so nothing outside ``explorer.model`` needs torch.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from explorer.errors import ModelFileError
from explorer.video.fitting import FitMode

MAX_FRAME_SIDE = 8192
"""The largest frame side any model may ask for (8K): every frame is fitted to the model's
size, so a model that says a million pixels would make each frame terabytes."""


def check_frame_side(origin: str, size: tuple[int, int]) -> tuple[int, int]:
    """``size`` if neither side exceeds :data:`MAX_FRAME_SIDE`, else a one-line error."""
    if max(size) > MAX_FRAME_SIDE:
        raise ModelFileError(
            f"{origin}: frame size {size[1]}×{size[0]} is larger than any video "
            f"({MAX_FRAME_SIDE} pixels a side at most)"
        )
    return size


@runtime_checkable
class VideoVAE(Protocol):
    """A video frame autoencoder.

    ``encode`` takes RGB uint8 frames ``[N, H, W, 3]`` of any size (they are fitted to
    ``frame_size`` first) and returns float32 ``(mu, logvar)``, each ``[N, *latent_shape]``.
    ``decode`` takes float latents ``[N, *latent_shape]`` and returns RGB uint8 frames
    ``[N, *frame_size, 3]``. Both work through ``batch_size`` frames at a time.
    ``fit_mode`` says how frames of another shape are fitted (centre crop or letterbox).
    """

    batch_size: int
    fit_mode: FitMode

    @property
    def frame_size(self) -> tuple[int, int]: ...

    @property
    def latent_shape(self) -> tuple[int, ...]: ...

    @property
    def device(self) -> str: ...

    def to(self, device: str) -> None: ...

    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def decode(self, latents: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...
