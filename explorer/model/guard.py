"""Calling a model safely: its failures and malformed outputs become one-line messages.

Models can come from anywhere (plugins, TorchScript, diffusers), so every call site that
runs one goes through :func:`encode` and :func:`decode` here: an exception names what the
model was doing and why (out of GPU memory gets advice), and outputs that are not numpy
arrays, or have the wrong shape, dtype or non-finite values, are refused before anything
paints them, caches them or writes them into a file.

User code may also raise what is not an ``Exception``: a plugin's ``sys.exit()`` raises
``SystemExit``, which would close the app (or, in a worker thread, end that thread
silently and leave the app waiting for ever). It becomes a :class:`ModelRuntimeError`
like any other failure. Only ``KeyboardInterrupt`` passes through: that is the user's own
Ctrl-C, not the model's doing.

A temporal model (:class:`~explorer.model.contract.TemporalVideoVAE`) goes through
:func:`encode_clip` and :func:`decode_steps`, checked the same way against its frame rule:
``T`` frames make ``steps_for(T)`` latent steps, ``S`` steps decode to ``frames_for(S)``
frames. Out of GPU memory, a diffusers video autoencoder is told which of its folder's
settings would help (:func:`memory_advice`).

:func:`codes_used` asks a VQ model how many codebook entries latents snap to, when it can.

A model that handles only one frame at a time breaks the contract (``encode`` and
``decode`` take whole batches). It is recognised rather than worked around: by a batch of
N giving one result, or by a batch failing where its first item alone succeeds (one more
call, made only after a failure). The message then says so. Retrying every batch frame by
frame instead would hide the broken contract behind a model N times slower, and would run
a model that has just failed again and again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import ExplorerError, describe_error

if TYPE_CHECKING:  # the contract's module imports the video stack; the bench's child must not
    from explorer.model.contract import TemporalVideoVAE, VideoVAE

_CONTRACT = "see explorer.model.contract.VideoVAE"
_TEMPORAL_CONTRACT = "see explorer.model.contract.TemporalVideoVAE"
_SETTINGS_FILE = "explorer.json"  # explorer.model.open.SETTINGS_FILE, which loads torch
_CPU_ADVICE = "choose the CPU in the Device menu (or --device cpu)"


class ModelRuntimeError(ExplorerError):
    """The model raised, ran out of memory, or returned something unusable."""


def encode(vae: VideoVAE, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``vae.encode(frames)``, checked: float32 ``(mu, logvar)``, each ``[N, *latent_shape]``."""
    _require_per_frame(vae, "encode")
    output = _call(vae, "encode", frames, "encoding")
    return _latents(output, (len(frames), *vae.latent_shape), "encode")


def decode(vae: VideoVAE, latents: np.ndarray) -> np.ndarray:
    """``vae.decode(latents)``, checked: uint8 RGB frames ``[N, *frame_size, 3]``."""
    _require_per_frame(vae, "decode")
    frames = _call(vae, "decode", latents, "decoding")
    return _frames(frames, (len(latents), *vae.frame_size, 3), "decode")


def encode_clip(vae: TemporalVideoVAE, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``vae.encode_clip(frames)``, checked: float32 ``(mu, logvar)``, each
    ``[steps_for(T), *latent_shape]``. A failure is not retried on one frame: a clip is
    not a batch."""
    output = _call(vae, "encode_clip", frames, "encoding", batched=False)
    expected = (vae.steps_for(len(frames)), *vae.latent_shape)
    return _latents(output, expected, "encode_clip", batched=False)


def decode_steps(vae: TemporalVideoVAE, latents: np.ndarray) -> np.ndarray:
    """``vae.decode_steps(latents)``, checked: uint8 RGB frames
    ``[frames_for(S), *frame_size, 3]``."""
    frames = _call(vae, "decode_steps", latents, "decoding", batched=False)
    expected = (vae.frames_for(len(latents)), *vae.frame_size, 3)
    return _frames(frames, expected, "decode_steps", batched=False)


def codes_used(vae: object, latents: np.ndarray) -> int | None:
    """How many distinct codebook entries ``latents`` ``[N, *latent_shape]`` snap to, for a
    model that can say (a VQ model's ``codes_used``); None for any other model."""
    if not callable(getattr(vae, "codes_used", None)):
        return None
    count = _call(vae, "codes_used", latents, "counting the codes it uses", batched=False)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ModelRuntimeError(
            f"the model's codes_used returned {ascii(count)[:40]}; expected a count of "
            "codebook entries"
        )
    return int(count)


def _require_per_frame(vae: object, method: str) -> None:
    """A temporal model where one latent a frame is needed: one line, not an AttributeError
    (a part of the app that does not handle latent steps yet)."""
    if not hasattr(vae, method) and hasattr(vae, "decode_steps"):
        raise ModelRuntimeError(
            f"this needs a model that can {method} frame by frame, and this one is a video "
            "autoencoder whose latent steps each cover several frames"
        )


def _latents(output: Any, expected: tuple[int, ...], method: str,
             batched: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``output`` if it is the float32, finite ``(mu, logvar)`` pair of shape ``expected``."""
    contract = _CONTRACT if batched else _TEMPORAL_CONTRACT
    if not (isinstance(output, (tuple, list)) and len(output) == 2):
        raise ModelRuntimeError(
            f"the model's {method} returned {_a(output)}; expected a pair of numpy arrays "
            f"(mean, log-variance) ({contract})"
        )
    mu, logvar = output
    for name, array in (("mean", mu), ("log-variance", logvar)):
        _check_array(array, expected, f"latent {name}s", method, batched)
        if array.dtype != np.float32:
            raise ModelRuntimeError(
                f"the model encoded {array.dtype} latent {name}s; expected float32"
            )
        if not np.isfinite(array).all():
            raise ModelRuntimeError(f"the model's encoder returned NaN or infinite {name}s")
    return mu, logvar


def _frames(frames: Any, expected: tuple[int, ...], method: str,
            batched: bool = True) -> np.ndarray:
    """``frames`` if they are uint8 RGB frames of shape ``expected``."""
    _check_array(frames, expected, "decoded frames", method, batched)
    if frames.dtype != np.uint8:
        if np.issubdtype(frames.dtype, np.floating) and not np.isfinite(frames).all():
            raise ModelRuntimeError("the model's decoder returned NaN or infinite values")
        raise ModelRuntimeError(
            f"the model decoded {frames.dtype} frames; expected uint8 (0–255) RGB frames"
        )
    return frames


def describe_failure(action: str, exc: BaseException, vae: object = None) -> str:
    """One line: what the model was doing and why it failed, with advice where there is one
    (for ``vae``, where it is known: :func:`memory_advice`)."""
    if _out_of_memory(exc):
        return f"out of GPU memory while {action}: {memory_advice(vae)}"
    if isinstance(exc, SystemExit):
        return f"the model tried to exit the program while {action} (SystemExit: {exc.code})"
    return f"the model failed while {action}: {describe_error(exc, with_type=True)}"


def memory_advice(vae: object) -> str:
    """What to change when ``vae`` runs out of GPU memory.

    A diffusers video autoencoder (a temporal model with a folder) is told the settings in
    its folder's ``explorer.json`` that bound its memory: ``"tiling": true`` where its class
    has tiles and they are off, and a smaller ``"frame_size"`` (half the sides it has).
    Other models: the CPU, or smaller batches where batches are what it takes.
    """
    if not hasattr(vae, "decode_steps"):
        return f"{_CPU_ADVICE}, or use smaller batches"
    try:
        facts = dict(vae.describe())
        height, width = vae.frame_size
    except Exception:  # a broken model still gets the plain advice
        return _CPU_ADVICE
    if not (str(facts.get("kind", "")).startswith("diffusers ") and facts.get("path")):
        return _CPU_ADVICE  # no settings file to change
    settings = Path(facts["path"]) / _SETTINGS_FILE
    smaller = f'[{max(1, height // 2)}, {max(1, width // 2)}]'
    if facts.get("tiling") is False:
        return (f'put "tiling": true in {settings}, or a smaller "frame_size" there, such as '
                f"{smaller}; or {_CPU_ADVICE}")
    return f'put a smaller "frame_size" in {settings}, such as {smaller}; or {_CPU_ADVICE}'


def _call(vae: Any, method: str, inputs: np.ndarray, action: str, batched: bool = True) -> Any:
    """``vae.method(inputs)``; anything it raises but Ctrl-C becomes a ModelRuntimeError.

    After a failure on a ``batched`` call of several items, the first item alone is tried
    once: if that works, the message says the model handles only batch 1.
    """
    call: Callable[[np.ndarray], Any] = getattr(vae, method)
    try:
        return call(inputs)
    except (ExplorerError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # SystemExit and GeneratorExit too: see the module docstring
        message = describe_failure(action, exc, vae)
        if (batched and len(inputs) > 1 and not _out_of_memory(exc)
                and _works_on_one(call, inputs)):
            message = (f"the model failed on a batch of {len(inputs)} but works on one at a "
                       f"time: it must handle whole batches ({_CONTRACT}); {message}")
        raise ModelRuntimeError(message) from exc


def _out_of_memory(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def _works_on_one(method: Callable[[np.ndarray], Any], inputs: np.ndarray) -> bool:
    try:
        method(inputs[:1])
    except KeyboardInterrupt:
        raise
    except BaseException:  # the model fails either way: the original message stands
        return False
    return True


def _check_array(array: object, shape: tuple[int, ...], what: str, method: str,
                 batched: bool) -> None:
    if not isinstance(array, np.ndarray):
        raise ModelRuntimeError(f"the model returned {_a(array)} as {what}; "
                                "expected a numpy array")
    if array.shape == shape:
        return
    if batched and array.shape[1:] == shape[1:]:  # one result per item is all that is wrong
        one_at_a_time = (
            ": it seems to handle only one at a time, but its "
            f"{method} must handle whole batches ({_CONTRACT})" if len(array) == 1 else ""
        )
        raise ModelRuntimeError(
            f"the model returned {what} for a batch of {len(array)}, not {shape[0]}{one_at_a_time}"
        )
    rule = "" if batched else f" ({method} must follow the model's frame rule)"
    raise ModelRuntimeError(f"the model returned {what} of shape {array.shape}; "
                            f"expected {shape}{rule}")


def _a(value: object) -> str:
    return "None" if value is None else f"a {type(value).__name__}"
