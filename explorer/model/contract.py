"""The interfaces autoencoders meet, whatever their origin.

The app, the pipeline and the CLI talk to models only through :class:`VideoVAE` (one
latent a frame) or :class:`TemporalVideoVAE` (one latent step for several frames): numpy
arrays in, numpy arrays out, so nothing outside ``explorer.model`` needs torch.
:func:`is_temporal` tells them apart.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from explorer.errors import ModelFileError
from explorer.model.video_vae.rule import FrameRule
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


class _Autoencoder(Protocol):
    """What every model says of itself, whether it encodes frames or clips."""

    fit_mode: FitMode
    """How frames of another shape are fitted (centre crop or letterbox)."""

    @property
    def frame_size(self) -> tuple[int, int]: ...

    @property
    def latent_shape(self) -> tuple[int, ...]: ...

    @property
    def device(self) -> str: ...

    def to(self, device: str) -> None: ...

    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class VideoVAE(_Autoencoder, Protocol):
    """A video frame autoencoder.

    ``encode`` takes RGB uint8 frames ``[N, H, W, 3]`` of any size (they are fitted to
    ``frame_size`` first) and returns float32 ``(mu, logvar)``, each ``[N, *latent_shape]``.
    ``decode`` takes float latents ``[N, *latent_shape]`` and returns RGB uint8 frames
    ``[N, *frame_size, 3]``. Both work through ``batch_size`` frames at a time.
    """

    batch_size: int

    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def decode(self, latents: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class TemporalVideoVAE(_Autoencoder, Protocol):
    """A video autoencoder whose latent steps each stand for several frames (Wan,
    CogVideoX, LTX-Video...; :class:`~explorer.model.video_vae.temporal_vae.TemporalVAE`).

    ``encode_clip`` takes RGB uint8 frames ``[T, H, W, 3]`` of any size, encoded as a
    whole video, and returns float32 ``(mu, logvar)``, each ``[steps_for(T),
    *latent_shape]``. ``decode_steps`` takes latent steps ``[S, *latent_shape]`` and
    returns RGB uint8 frames ``[frames_for(S), *frame_size, 3]``. ``rule`` says which
    frames each step covers and plans the windows a long video is encoded in;
    ``window_steps`` is the steps a window holds by default.
    """

    rule: FrameRule

    @property
    def temporal_stride(self) -> int: ...

    @property
    def causal_first_frame(self) -> bool: ...

    @property
    def window_steps(self) -> int: ...

    def steps_for(self, frames: int) -> int: ...

    def frames_for(self, steps: int) -> int: ...

    def step_frames(self, frames: int) -> np.ndarray: ...

    def encode_clip(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def decode_steps(self, latents: np.ndarray) -> np.ndarray: ...


AnyVAE = VideoVAE | TemporalVideoVAE
"""What :func:`~explorer.model.open.open_model` may return."""


def is_temporal(vae: object) -> bool:
    """Whether ``vae`` encodes clips into latent steps (a :class:`TemporalVideoVAE`) rather
    than frames one by one. Needs no torch."""
    return isinstance(vae, TemporalVideoVAE)
