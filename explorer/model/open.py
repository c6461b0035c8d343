"""Open any kind of model from what the user typed: :func:`open_model`.

A spec names, in this order of precedence:

1. an existing folder: a diffusers image autoencoder (``AutoencoderKL``, ``VQModel``...),
   or a video autoencoder (``AutoencoderKLWan``, ``AutoencoderKLCogVideoX``...: its
   ``config.json`` names a class of :data:`~explorer.model.diffusers_video.VIDEO_CLASSES`),
   which opens as a :class:`~explorer.model.contract.TemporalVideoVAE`; settings in
   ``explorer.json`` inside;
2. an existing file, whose kind its name says and its content must confirm: a Latent
   Explorer ``.safetensors`` file, or a TorchScript archive (``.pt``, ``.pth``, ``.jit``,
   ``.torchscript``; settings in a JSON file of the same name beside it);
3. ``name`` or ``name:argument``, where ``name`` is registered by an installed package under
   the ``explorer.models`` entry-point group;
4. ``package.module:factory``, a Python plugin.

Safetensors files and diffusers folders are data and open freely. TorchScript archives,
plugins and registered loaders are code: they open only with ``trust_code=True``, which
the user gives on one command (``--trust-code``) or in a dialog naming the model, never a
session, a recent-files entry or a drop (``docs/security.md``). Pickled checkpoints are
refused before anything reads them, and nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from explorer.errors import ModelFileError, describe_error
from explorer.fileio import require_file
from explorer.model.contract import MAX_FRAME_SIDE, AnyVAE
from explorer.model.diffusers_vae import load_diffusers_vae
from explorer.model.diffusers_video import holds_video_vae, load_diffusers_video_vae
from explorer.model.files import load_model
from explorer.model.kinds import (
    DIFFUSERS,
    REGISTERED,
    SAFETENSORS,
    TORCHSCRIPT,
    UntrustedCodeError,
    model_kind,
    registered_loaders,
    settings_beside,
    untrusted_message,
)
from explorer.model.plugins import load_plugin, load_registered
from explorer.model.torchscript import load_torchscript
from explorer.schema import Strict, parse_json, validate

SETTINGS_FILE = "explorer.json"
"""Settings of a diffusers folder, inside it; a TorchScript file's sit beside it."""

SETTINGS_LIMIT = 1 << 16
"""A settings file is a few lines; anything larger is not one."""

Pixels = Annotated[int, Field(ge=1, le=MAX_FRAME_SIDE)]


def _square(value: Any) -> Any:
    """One size means a square frame."""
    if isinstance(value, bool) or not isinstance(value, (int, list)):
        raise ValueError("must be [height, width] in pixels, or one number for a square")
    return [value, value] if isinstance(value, int) else value


FrameSize = Annotated[list[Pixels], BeforeValidator(_square), Field(min_length=2, max_length=2)]
"""``[height, width]`` in pixels, or one number for a square."""


class TorchScriptSettings(Strict):
    """``model.json`` beside a TorchScript file: overrides of the module's attributes."""

    frame_size: FrameSize | None = None
    latent_shape: list[Annotated[int, Field(ge=1, le=1 << 16)]] | None = Field(
        default=None, min_length=1, max_length=4
    )
    input_range: list[Annotated[float, Field(allow_inf_nan=False)]] | None = Field(
        default=None, min_length=2, max_length=2
    )
    half_precision: bool = False
    batch_size: int = Field(default=32, ge=1, le=4096)


class DiffusersSettings(Strict):
    """``explorer.json`` inside a diffusers folder."""

    frame_size: FrameSize | None = None
    half_precision: bool | None = None
    batch_size: int | None = Field(default=None, ge=1, le=4096)
    quantize: bool | None = None
    """VQ models only: false decodes latents without the quantiser (default true)."""


class VideoDiffusersSettings(Strict):
    """``explorer.json`` inside a diffusers video autoencoder folder."""

    frame_size: FrameSize | None = None
    tiling: bool = False
    """Spatial (and, where the class can, temporal) tiles: flat memory, blended seams."""
    half_precision: bool | None = None
    """16 bits on CUDA (true) or float32 (false); default: as the class's pipelines run it."""


def open_model(
    spec: str | os.PathLike[str], device: str = "auto", *, trust_code: bool = False
) -> AnyVAE:
    """Open the model ``spec`` names (see the module docstring) on ``device``.

    A model that is code (TorchScript, plugins, registered loaders) opens only with
    ``trust_code``; otherwise :class:`UntrustedCodeError` says how to trust it. Every
    failure the user can fix is a one-line :class:`~explorer.errors.ModelFileError`.
    """
    kind = model_kind(spec)
    text = os.fspath(spec).strip()
    if kind.runs_code and not trust_code:
        raise UntrustedCodeError(untrusted_message(text, kind))
    path = Path(text).expanduser()
    if kind is DIFFUSERS and holds_video_vae(path):
        settings = read_settings(path / SETTINGS_FILE, VideoDiffusersSettings)
        return load_diffusers_video_vae(path, device, **settings)
    if kind is DIFFUSERS:
        settings = read_settings(path / SETTINGS_FILE, DiffusersSettings)
        return load_diffusers_vae(path, device, **settings)
    if kind is SAFETENSORS:
        return load_model(path, device)
    if kind is TORCHSCRIPT:
        settings = read_settings(settings_beside(path), TorchScriptSettings)
        return load_torchscript(path, device, **settings)
    if kind is REGISTERED:
        name, _, argument = text.partition(":")
        return load_registered(registered_loaders()[name], argument or None, device)
    return load_plugin(text, device)


def read_settings(file: Path, schema: type[Strict]) -> dict[str, Any]:
    """The settings in a model's JSON file (none without one): the loader's keyword arguments."""
    if not file.exists():
        return {}
    require_file(file, "settings", ModelFileError)
    if file.stat().st_size > SETTINGS_LIMIT:
        raise ModelFileError(
            f"{file} is too large for a settings file ({SETTINGS_LIMIT:,} bytes at most)"
        )
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise ModelFileError(
            f"{file} is not readable ({describe_error(exc, with_file=False)})"
        ) from exc
    document = parse_json(text, str(file), ModelFileError)
    settings = validate(schema, document, file, ModelFileError)
    return {name: getattr(settings, name) for name in settings.model_fields_set}
