"""Model files: one ``.safetensors`` file whose metadata says how to rebuild the network.

Safetensors holds only named tensors plus a string-to-string metadata table, so loading
one can never run code (unlike a pickled ``.pt``). The metadata carries, as JSON:

- ``format``: ``latent-explorer/vae`` and ``format_version``: ``1``;
- ``architecture``: the :class:`~explorer.model.beta_vae.BetaVAEConfig` fields plus ``kind``;
- ``training``: settings and results (β, epochs, final losses, held-out PSNR, source video).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from explorer.errors import ModelFileError
from explorer.fileio import atomic_output, require_file
from explorer.model.beta_vae import BetaVAE, BetaVAEConfig
from explorer.model.torch_vae import TorchVAE

FORMAT = "latent-explorer/vae"
FORMAT_VERSION = 1
BETA_VAE_KIND = "beta_vae"

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_OPCODE = 0x80


def save_model(vae: TorchVAE, path: str | os.PathLike[str], training: dict[str, Any]) -> Path:
    """Write a built-in β-VAE and its training record atomically; returns the path."""
    module = vae.module
    if not isinstance(module, BetaVAE):
        raise ModelFileError("only the built-in β-VAE can be saved as a Latent Explorer model")
    architecture = {"kind": BETA_VAE_KIND, **module.config.to_dict()}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "architecture": json.dumps(architecture),
        "training": json.dumps(training),
    }
    tensors = {name: t.detach().cpu().contiguous() for name, t in module.state_dict().items()}
    target = Path(path)
    with atomic_output(target) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    return target


def load_model(path: str | os.PathLike[str], device: str = "cpu") -> TorchVAE:
    """Load a model file written by :func:`save_model` without unpickling anything."""
    file = require_file(path, "model", ModelFileError)
    reject_pickles(file)
    metadata, tensors = _read_safetensors(file)
    architecture = _parse_metadata(file, metadata)
    config = _config_from(file, architecture)
    module = BetaVAE(config)
    _check_tensors(file, module, tensors, config)
    module.load_state_dict(tensors, strict=True)
    training = json.loads(metadata.get("training", "{}"))
    return TorchVAE(
        module,
        (config.image_size, config.image_size),
        (config.latent_dim,),
        kind="β-VAE (built-in)",
        metadata={"path": str(file), "training": training, "architecture": architecture},
        device=device,
    )


def read_model_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed metadata of a model file (architecture, training) without building it."""
    file = require_file(path, "model", ModelFileError)
    reject_pickles(file)
    try:
        with safe_open(str(file), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensor_names = list(handle.keys())
    except (SafetensorError, OSError) as exc:
        raise _corrupt(file, exc) from exc
    architecture = _parse_metadata(file, metadata)
    return {
        "architecture": architecture,
        "training": json.loads(metadata.get("training", "{}")),
        "tensor_count": len(tensor_names),
    }


def reject_pickles(file: Path) -> None:
    """Refuse PyTorch pickles before any library gets a chance to unpickle them."""
    with open(file, "rb") as handle:
        head = handle.read(4)
    if head.startswith(_ZIP_MAGIC) or (head and head[0] == _PICKLE_PROTOCOL_OPCODE):
        raise ModelFileError(
            f"{file} is a PyTorch pickle checkpoint; Latent Explorer never loads pickles "
            "because they can run code: save the weights with safetensors instead"
        )


def _read_safetensors(file: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    try:
        with safe_open(str(file), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise _corrupt(file, exc) from exc
    return metadata, tensors


def _corrupt(file: Path, exc: Exception) -> ModelFileError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ModelFileError(
        f"{file} is not a readable .safetensors model (truncated or corrupt: {reason})"
    )


def _parse_metadata(file: Path, metadata: dict[str, str]) -> dict[str, Any]:
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{file} is a safetensors file but not a Latent Explorer model (no '{FORMAT}' metadata)"
        )
    version = metadata.get("format_version", "")
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise ModelFileError(
            f"{file} uses model format version {version or '?'}, newer than this app "
            f"understands ({FORMAT_VERSION}); update Latent Explorer"
        )
    try:
        architecture = json.loads(metadata["architecture"])
        json.loads(metadata.get("training", "{}"))
    except (KeyError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{file} has damaged model metadata ({exc})") from exc
    if not isinstance(architecture, dict):
        raise ModelFileError(f"{file} has damaged model metadata (architecture is not a table)")
    return architecture


def _config_from(file: Path, architecture: dict[str, Any]) -> BetaVAEConfig:
    kind = architecture.get("kind")
    if kind != BETA_VAE_KIND:
        raise ModelFileError(f"{file} holds an unknown model kind {kind!r}")
    fields = {k: v for k, v in architecture.items() if k != "kind"}
    try:
        return BetaVAEConfig(**fields)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{file} has an invalid architecture: {exc}") from exc


def _check_tensors(
    file: Path, module: BetaVAE, tensors: dict[str, torch.Tensor], config: BetaVAEConfig
) -> None:
    expected = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in tensors.items()}
    described = f"a {config.image_size}px β-VAE with {config.latent_dim} latents"
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    wrong = sorted(n for n in expected.keys() & found.keys() if expected[n] != found[n])
    if missing or unexpected or wrong:
        problems = []
        if missing:
            problems.append(f"missing {_names(missing)}")
        if unexpected:
            problems.append(f"unexpected {_names(unexpected)}")
        if wrong:
            name = wrong[0]
            problems.append(f"{name} has shape {found[name]} instead of {expected[name]}")
        raise ModelFileError(
            f"{file} does not hold the tensors of {described}: {'; '.join(problems)}"
        )
    bad_dtype = next((n for n, t in tensors.items() if not t.is_floating_point()), None)
    if bad_dtype is not None:
        raise ModelFileError(f"{file}: tensor {bad_dtype} is not floating point")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:2])
    return shown if len(names) <= 2 else f"{shown} and {len(names) - 2} more"
