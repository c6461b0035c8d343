"""Model files: one ``.safetensors`` file whose metadata says how to rebuild the network.

Safetensors holds only named tensors plus a string-to-string metadata table, so loading
one can never run code (unlike a pickled ``.pt``). The metadata carries, as JSON:

- ``format``: ``latent-explorer/vae`` and ``format_version``: the architecture's version;
- ``architecture``: ``kind`` plus the network's config: version 1 (the seed's β-VAE, no
  ``version`` field) is a :class:`~explorer.model.beta_vae.BetaVAEConfig`, version 2 a
  :class:`~explorer.model.conv_vae.ConvVAEConfig` with ``"version": 2`` and its ``family``,
  version 3 the same with ``"linear_path": true`` (the network with a PCA-started linear
  path that ``explorer train`` writes today);
- ``training``: settings and results (β, epochs, final losses, held-out PSNR, the PCA
  baseline's, source video).

Every version opens; an older app refuses a newer version's files as "newer than this app
understands" instead of misreading them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from explorer.errors import ModelFileError, describe_error
from explorer.fileio import atomic_output, require_file
from explorer.model.beta_vae import SUPPORTED_SIZES, BetaVAE, BetaVAEConfig
from explorer.model.builtin import BuiltinVAE, builtin_vae
from explorer.model.conv_vae import FAMILY_NAMES, ConvVAE, ConvVAEConfig, Family
from explorer.model.kinds import check_safetensors
from explorer.model.torch_vae import TorchVAE
from explorer.schema import Open, Strict, parse_json, validate

FORMAT = "latent-explorer/vae"
FORMAT_VERSION = 3
"""The newest architecture version this app reads (and the format version of its files)."""
BETA_VAE_KIND = "beta_vae"

Network = BetaVAE | ConvVAE


class Architecture(Strict):
    """The ``architecture`` metadata of version 1: a :class:`BetaVAEConfig` plus ``kind``,
    with bounds that keep a hostile file from asking for gigabytes of weights."""

    kind: str
    image_size: Literal[SUPPORTED_SIZES]  # type: ignore[valid-type]
    latent_dim: int = Field(ge=1, le=4096)
    base_channels: int = Field(ge=1, le=1024)
    max_channels: int = Field(ge=1, le=4096)


class ArchitectureV2(Architecture):
    """Versions 2 and 3: a :class:`ConvVAEConfig` plus ``kind`` and ``version``."""

    version: Literal[2, 3]
    family: Family
    codebook_size: int = Field(ge=0, le=65536)
    code_dim: int = Field(ge=0, le=4096)
    linear_path: bool = False
    latent_grid: int = Field(default=0, ge=0, le=128)


class TrainingRecord(Open):
    """The ``training`` metadata: free-form, but a table (other tools may add fields)."""


def save_model(vae: TorchVAE, path: str | os.PathLike[str], training: dict[str, Any]) -> Path:
    """Write a built-in model and its training record atomically; returns the path."""
    module = vae.module
    if not isinstance(module, Network):
        raise ModelFileError("only the built-in models can be saved as Latent Explorer models")
    version = module.config.version if isinstance(module, ConvVAE) else 1
    architecture = {"kind": BETA_VAE_KIND, **module.config.to_dict()}
    if version > 1:
        architecture["version"] = version
    metadata = {
        "format": FORMAT,
        "format_version": str(version),
        "architecture": json.dumps(architecture),
        "training": json.dumps(training),
    }
    tensors = {name: t.detach().cpu().contiguous() for name, t in module.state_dict().items()}
    target = Path(path)
    with atomic_output(target) as temp:
        save_file(tensors, str(temp), metadata=metadata)
    return target


def load_model(path: str | os.PathLike[str], device: str = "cpu") -> BuiltinVAE:
    """Load a model file written by :func:`save_model` without unpickling anything."""
    file = require_file(path, "model", ModelFileError)
    check_safetensors(file)
    metadata, shapes = _read_header(file)
    architecture, training = _parse_metadata(file, metadata)
    config = _config_from(file, architecture)
    with torch.device("meta"):  # shapes only: nothing is allocated before they match the file
        expected = {name: tuple(t.shape) for name, t in network(config).state_dict().items()}
    _check_shapes(file, expected, shapes, config)
    tensors = _read_tensors(file)
    integral = next((name for name, t in tensors.items() if not t.is_floating_point()), None)
    if integral is not None:
        raise ModelFileError(f"{file}: tensor {integral} is not floating point")
    module = network(config)
    module.load_state_dict(tensors, strict=True)
    info = {"path": str(file), "training": training, "architecture": architecture}
    return builtin_vae(module, info, device)


def network(config: BetaVAEConfig | ConvVAEConfig) -> Network:
    """The untrained network a config describes (version 1 or 2)."""
    return ConvVAE(config) if isinstance(config, ConvVAEConfig) else BetaVAE(config)


def read_model_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed metadata of a model file (architecture, training) without building it."""
    file = require_file(path, "model", ModelFileError)
    check_safetensors(file)
    metadata, shapes = _read_header(file)
    architecture, training = _parse_metadata(file, metadata)
    return {"architecture": architecture, "training": training, "tensor_count": len(shapes)}


def _read_header(file: Path) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """The metadata and each tensor's shape; the safetensors library checks that every
    tensor's declared extent lies inside the file before it answers."""
    try:
        with safe_open(str(file), framework="pt") as handle:
            metadata = handle.metadata() or {}
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise _corrupt(file, exc) from exc
    return metadata, shapes


def _read_tensors(file: Path) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(file), framework="pt") as handle:
            return {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise _corrupt(file, exc) from exc


def _corrupt(file: Path, exc: Exception) -> ModelFileError:
    return ModelFileError(
        f"{file} is not a readable .safetensors model (truncated or corrupt: "
        f"{describe_error(exc)})"
    )


def _parse_metadata(
    file: Path, metadata: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The architecture and training tables, validated (see :class:`Architecture`)."""
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{file} is a safetensors file but not a Latent Explorer model (no '{FORMAT}' metadata)"
        )
    version = metadata.get("format_version", "")
    if not version.isdigit() or not 1 <= int(version) <= FORMAT_VERSION:
        raise ModelFileError(
            f"{file} uses model format version {version or '?'}, newer than this app "
            f"understands ({FORMAT_VERSION}); update Latent Explorer"
        )
    if "architecture" not in metadata:
        raise ModelFileError(f"{file} has damaged model metadata (no architecture)")
    architecture = parse_json(metadata["architecture"], f"{file}: architecture", ModelFileError)
    training = parse_json(metadata.get("training", "{}"), f"{file}: training", ModelFileError)
    if isinstance(architecture, dict) and architecture.get("kind") != BETA_VAE_KIND:
        raise ModelFileError(f"{file} holds an unknown model kind {architecture.get('kind')!r}")
    schema = ArchitectureV2 if int(version) >= 2 else Architecture
    return (
        validate(schema, architecture, file, ModelFileError, "architecture").model_dump(),
        validate(TrainingRecord, training, file, ModelFileError, "training").model_dump(),
    )


def _config_from(file: Path, architecture: dict[str, Any]) -> BetaVAEConfig | ConvVAEConfig:
    fields = {k: v for k, v in architecture.items() if k not in ("kind", "version")}
    try:
        if "version" not in architecture:
            return BetaVAEConfig(**fields)
        config = ConvVAEConfig(**fields)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{file} has an invalid architecture: {exc}") from exc
    if config.version != architecture["version"]:
        raise ModelFileError(f"{file} has an invalid architecture: version "
                             f"{architecture['version']} with linear_path {config.linear_path}")
    return config


def _check_shapes(
    file: Path,
    expected: dict[str, tuple[int, ...]],
    found: dict[str, tuple[int, ...]],
    config: BetaVAEConfig | ConvVAEConfig,
) -> None:
    family = getattr(config, "family", "vae")
    described = f"a {config.image_size}px {FAMILY_NAMES[family]} with {config.latent_dim} latents"
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


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:2])
    return shown if len(names) <= 2 else f"{shown} and {len(names) - 2} more"
