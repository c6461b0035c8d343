"""Calling a model safely: its failures and malformed outputs become one-line messages.

Models can come from anywhere (plugins, TorchScript, diffusers), so every call site that
runs one goes through :func:`encode` and :func:`decode` here: an exception names what the
model was doing and why (out of GPU memory gets advice), and outputs of the wrong type,
shape or with NaNs are refused instead of being painted or written into a clip.
"""

from __future__ import annotations

import numpy as np

from explorer.errors import ExplorerError
from explorer.model.contract import VideoVAE


class ModelRuntimeError(ExplorerError):
    """The model raised, ran out of memory, or returned something unusable."""


def encode(vae: VideoVAE, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        mu, logvar = vae.encode(frames)
    except ExplorerError:
        raise
    except Exception as exc:
        raise ModelRuntimeError(describe_failure("encoding", exc)) from exc
    expected = (len(frames), *vae.latent_shape)
    for name, array in (("mean", mu), ("log-variance", logvar)):
        _check_array(array, expected, f"latent {name}")
        if not np.isfinite(array).all():
            raise ModelRuntimeError(f"the model's encoder returned NaN or infinite {name}s")
    return mu, logvar


def decode(vae: VideoVAE, latents: np.ndarray) -> np.ndarray:
    try:
        frames = vae.decode(latents)
    except ExplorerError:
        raise
    except Exception as exc:
        raise ModelRuntimeError(describe_failure("decoding", exc)) from exc
    _check_array(frames, (len(latents), *vae.frame_size, 3), "decoded frames")
    if frames.dtype != np.uint8:
        if np.issubdtype(frames.dtype, np.floating) and not np.isfinite(frames).all():
            raise ModelRuntimeError("the model's decoder returned NaN or infinite values")
        raise ModelRuntimeError(f"the model decoded {frames.dtype} frames; expected uint8")
    return frames


def describe_failure(action: str, exc: BaseException) -> str:
    """One line: what the model was doing and why it failed, with advice where there is one."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
        return (f"out of GPU memory while {action}: choose the CPU in the Device menu (or "
                "--device cpu), or use smaller batches")
    return f"the model failed while {action}: {type(exc).__name__}: {text}".rstrip(": ")


def _check_array(array: object, shape: tuple[int, ...], what: str) -> None:
    if not isinstance(array, np.ndarray):
        raise ModelRuntimeError(f"the model returned {type(array).__name__} {what}; "
                                "expected a numpy array")
    if array.shape != shape:
        raise ModelRuntimeError(f"the model returned {what} of shape {array.shape}; "
                                f"expected {shape}")
