"""TorchScript models: a module saved with ``torch.jit.save`` that has ``encode`` and ``decode``.

The module's conventions (``docs/models.md`` has a complete example):

- ``encode(images)`` takes float images ``[N, 3, H, W]`` whose values run over
  ``input_range`` (``[0, 1]`` unless the model says otherwise, e.g. ``[-1, 1]``) and returns
  ``(mu, logvar)``, or ``mu`` alone for a deterministic autoencoder (its log-variance is
  then taken as all zeros);
- ``decode(latents)`` returns images ``[N, 3, H, W]`` in the same range;
- both are compiled into the archive, i.e. marked ``@torch.jit.export`` (``forward`` is
  not used).

Settings are module attributes, or keyword arguments (which :func:`open_model
<explorer.model.open.open_model>` reads from a JSON file beside the model) that override
them: ``frame_size`` (required), ``latent_shape`` (optional: learnt from one encode of a
black frame, and checked against it when given) and ``input_range``.

Opening one runs code. ``torch.jit.load`` compiles the archive's TorchScript source and
rebuilds its objects, running any scripted ``__setstate__``; the loader then encodes and
decodes a black frame. TorchScript cannot import Python, but it can call any torch
operator, including ones that read and write files. So a TorchScript model opens only
when the user trusts it (``--trust-code`` or the window's confirmation, see
``docs/security.md``), and ``explorer info`` describes it without loading it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.errors import ModelFileError
from explorer.fileio import require_file
from explorer.model.contract import check_frame_side
from explorer.model.devices import resolve_device
from explorer.model.kinds import is_torchscript_archive
from explorer.model.torch_vae import TorchVAE

KIND = "TorchScript"
_INTERPRETER_TRACE = "The following operation failed in the TorchScript interpreter"


def load_torchscript(
    path: str | os.PathLike[str],
    device: str = "auto",
    *,
    frame_size: int | Sequence[int] | None = None,
    latent_shape: Sequence[int] | None = None,
    input_range: Sequence[float] | None = None,
    half_precision: bool = False,
    batch_size: int = 32,
) -> TorchVAE:
    """Load a TorchScript autoencoder; settings left as None come from its attributes.

    ``half_precision`` runs it in float16 on CUDA; it is off by default because a scripted
    module may build float32 tensors of its own. The model is tried on one black frame
    while loading, so a module that does not meet the conventions fails here, in one line.
    """
    file = require_file(path, "model", ModelFileError)
    if not is_torchscript_archive(file):
        raise ModelFileError(f"{file} is not a TorchScript archive (one saved by torch.jit.save)")
    target = resolve_device(device)
    try:
        scripted = torch.jit.load(str(file), map_location=target)
    except RuntimeError as exc:
        raise ModelFileError(f"{file} could not be loaded as TorchScript: {_reason(exc)}") from exc
    missing = [name for name in ("encode", "decode") if not hasattr(scripted, name)]
    if missing:
        raise ModelFileError(
            f"{file} has no {' or '.join(missing)} method: mark encode and decode "
            "@torch.jit.export before scripting the module"
        )
    size = _frame_size(file, _setting(scripted, "frame_size", frame_size))
    low, high = _input_range(file, _setting(scripted, "input_range", input_range))
    module = ScriptedAutoencoder(scripted, low, high)
    declared = _setting(scripted, "latent_shape", latent_shape)
    found = _probe(file, module, size, target)
    if declared is not None and _latent_shape(file, declared) != found:
        raise ModelFileError(
            f"{file} declares latent_shape {list(declared)} but its encode returns {list(found)}"
        )
    return TorchVAE(
        module,
        size,
        found,
        kind=KIND,
        metadata={"path": str(file), "input_range": [low, high]},
        device=str(target),
        batch_size=batch_size,
        half=half_precision,
    )


class ScriptedAutoencoder(nn.Module):
    """A scripted module seen through TorchVAE's conventions: images in [0, 1], two moments."""

    def __init__(self, scripted: torch.jit.ScriptModule, low: float, high: float) -> None:
        super().__init__()
        self.scripted = scripted
        self.low, self.high = low, high

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        moments = self.scripted.encode(images * (self.high - self.low) + self.low)
        if isinstance(moments, torch.Tensor):
            return moments, torch.zeros_like(moments)
        mu, logvar = moments
        return mu, logvar

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return (self.scripted.decode(latents) - self.low) / (self.high - self.low)


def _setting(scripted: torch.jit.ScriptModule, name: str, given: Any) -> Any:
    return given if given is not None else getattr(scripted, name, None)


@torch.inference_mode()
def _probe(
    file: Path, module: ScriptedAutoencoder, size: tuple[int, int], device: torch.device
) -> tuple[int, ...]:
    """Encode and decode one black frame; returns the latent shape the model produces."""
    black = torch.full((1, 3, *size), module.low, device=device)  # in the model's own range
    try:
        moments = module.scripted.encode(black)
    except Exception as exc:
        raise ModelFileError(
            f"{file}: encode failed on a {size[1]}×{size[0]} frame: {_reason(exc)}"
        ) from exc
    if isinstance(moments, torch.Tensor):
        moments = (moments, moments)
    if (
        not isinstance(moments, (tuple, list))
        or len(moments) != 2
        or not all(isinstance(m, torch.Tensor) for m in moments)
    ):
        raise ModelFileError(f"{file}: encode must return a tensor mu or a pair (mu, logvar)")
    mu, logvar = moments
    if mu.ndim < 2 or len(mu) != 1 or logvar.shape != mu.shape:
        raise ModelFileError(
            f"{file}: encode returned mu {list(mu.shape)} and logvar {list(logvar.shape)} for one "
            "frame; both must be [N, *latent_shape]"
        )
    try:
        images = module.scripted.decode(mu)
    except Exception as exc:
        raise ModelFileError(f"{file}: decode failed on its own latents: {_reason(exc)}") from exc
    expected = [1, 3, *size]
    if not isinstance(images, torch.Tensor) or list(images.shape) != expected:
        shape = list(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ModelFileError(f"{file}: decode returned {shape} instead of images {expected}")
    return tuple(mu.shape[1:])


def _frame_size(file: Path, value: Any) -> tuple[int, int]:
    if value is None:
        raise ModelFileError(
            f"{file} does not say its frame size: give the module a frame_size attribute "
            f'[height, width] or put {{"frame_size": [256, 256]}} in {file.with_suffix(".json")}'
        )
    pair = [value, value] if isinstance(value, int) else value
    if not _positive_ints(pair) or len(pair) != 2:
        raise ModelFileError(f"{file}: frame_size must be [height, width] in pixels, not {value!r}")
    return check_frame_side(str(file), (int(pair[0]), int(pair[1])))


def _latent_shape(file: Path, value: Any) -> tuple[int, ...]:
    if not _positive_ints(value) or len(value) == 0:
        raise ModelFileError(f"{file}: latent_shape must be a list of sizes, not {value!r}")
    return tuple(int(v) for v in value)


def _input_range(file: Path, value: Any) -> tuple[float, float]:
    if value is None:
        return 0.0, 1.0
    numbers = isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )
    if not numbers or len(value) != 2 or not value[0] < value[1]:
        raise ModelFileError(f"{file}: input_range must be [low, high] like [-1, 1], not {value!r}")
    return float(value[0]), float(value[1])


def _positive_ints(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )


def _reason(exc: Exception) -> str:
    """One line from an exception; for TorchScript's traces, the error under the trace."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[-1] if lines[0].startswith(_INTERPRETER_TRACE) else lines[0]
