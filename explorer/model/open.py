"""Open any kind of model from what the user typed: :func:`open_model`.

A spec names, in this order of precedence:

1. an existing file or folder, told apart by its content:
   a Latent Explorer ``.safetensors`` file, a TorchScript archive (settings in a JSON file
   of the same name beside it, ``model.pt`` + ``model.json``) or a diffusers
   ``AutoencoderKL`` folder (settings in ``explorer.json`` inside it);
2. ``name`` or ``name:argument``, where ``name`` is registered by an installed package under
   the ``explorer.models`` entry-point group;
3. ``package.module:factory``, a Python plugin.

Pickled checkpoints are refused before anything reads them, and nothing is downloaded.
``docs/models.md`` describes each kind for users.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable
from inspect import signature
from pathlib import Path
from typing import Any

from explorer.errors import ModelFileError
from explorer.model.contract import VideoVAE
from explorer.model.diffusers_vae import load_diffusers_vae
from explorer.model.files import load_model, reject_pickles
from explorer.model.plugins import is_plugin_spec, load_plugin, load_registered, registered_loaders
from explorer.model.torchscript import is_torchscript_archive, load_torchscript

SETTINGS_FILE = "explorer.json"
"""Settings of a diffusers folder, inside it; a TorchScript file's sit beside it."""

ACCEPTED = (
    "a model is a Latent Explorer .safetensors file, a TorchScript file, a diffusers "
    "AutoencoderKL folder, package.module:factory, or the name of an installed model loader"
)

# owner/name, as a model hub writes it; a missing relative path such as models/vae.pt is not one.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_FILE_SUFFIXES = {".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".json", ".jit", ".ts"}
_ZIP_MAGIC = b"PK\x03\x04"


def open_model(spec: str | os.PathLike[str], device: str = "auto") -> VideoVAE:
    """Open the model ``spec`` names (see the module docstring) on ``device``.

    Every failure the user can fix is a one-line :class:`~explorer.errors.ModelFileError`.
    """
    text = os.fspath(spec).strip()
    if not text:
        raise ModelFileError(f"no model given: {ACCEPTED}")
    path = Path(text).expanduser()
    if path.is_dir():
        settings = _settings(path / SETTINGS_FILE, load_diffusers_vae)
        return load_diffusers_vae(path, device, **settings)
    if path.exists():
        return _open_file(path, device)
    name, _, argument = text.partition(":")
    loaders = registered_loaders()
    if name in loaders:
        return load_registered(loaders[name], argument or None, device)
    if is_plugin_spec(text):
        return load_plugin(text, device)
    if _HUB_ID.fullmatch(text) and path.suffix.lower() not in _FILE_SUFFIXES:
        raise ModelFileError(
            f"{text} is not a local file or folder, and Latent Explorer never downloads models: "
            f"download it first (hf download {text} --local-dir {path.name}) and pass the folder"
        )
    installed = f"; installed loaders: {', '.join(sorted(loaders))}" if loaders else ""
    raise ModelFileError(f"model not found: {text} ({ACCEPTED}{installed})")


def _open_file(file: Path, device: str) -> VideoVAE:
    if is_torchscript_archive(file):
        settings = _settings(file.with_suffix(".json"), load_torchscript)
        return load_torchscript(file, device, **settings)
    if file.suffix.lower() == ".safetensors":
        return load_model(file, device)
    with open(file, "rb") as handle:
        zipped = handle.read(4) == _ZIP_MAGIC
    if zipped and not zipfile.is_zipfile(file):
        raise ModelFileError(f"{file} is a damaged zip archive (truncated?), not a model")
    reject_pickles(file)
    raise ModelFileError(f"{file} is not a model this app can open: {ACCEPTED}")


def _settings(file: Path, loader: Callable[..., VideoVAE]) -> dict[str, Any]:
    """The settings in a model's JSON file (none without one): the loader's keyword arguments."""
    known = [p.name for p in signature(loader).parameters.values() if p.kind is p.KEYWORD_ONLY]
    if not file.is_file():
        return {}
    try:
        settings = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{file} is not readable JSON ({exc})") from exc
    if not isinstance(settings, dict):
        raise ModelFileError(f'{file} must hold a JSON object such as {{"frame_size": [256, 256]}}')
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ModelFileError(
            f"{file}: unknown setting {unknown[0]!r}; the settings are {', '.join(known)}"
        )
    _check_types(file, settings)
    return settings


def _check_types(file: Path, settings: dict[str, Any]) -> None:
    """The two settings every loader passes through as they are; the loaders check the rest."""
    half = settings.get("half_precision", False)
    if not isinstance(half, bool):
        raise ModelFileError(f"{file}: half_precision must be true or false, not {half!r}")
    batch = settings.get("batch_size", 1)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ModelFileError(f"{file}: batch_size must be a positive whole number, not {batch!r}")
