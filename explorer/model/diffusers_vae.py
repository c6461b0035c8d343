"""diffusers ``AutoencoderKL`` folders, such as the Stable Diffusion VAE.

A folder written by ``save_pretrained`` (``config.json`` and safetensors weights) opens
with the optional diffusers extra. Latents are those a diffusion model sees: the
posterior's mean, shifted by the config's ``shift_factor`` (when it has one) and multiplied
by its ``scaling_factor``, with the log-variance moved by the same scale
(``logvar + 2 log scaling_factor``); decoding undoes both. ``latents_mean`` and
``latents_std``, which only some pipelines apply, are not.

The model has no fixed frame size: it is the config's ``sample_size`` (else 256 px), or
the ``frame_size`` asked for, rounded down to a multiple of the model's downsampling
factor (8 for Stable Diffusion); frames of any other size are fitted to it. Nothing is
ever downloaded, and pickled ``.bin`` weights are refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.errors import ModelFileError
from explorer.fileio import require_file
from explorer.model.contract import check_frame_side
from explorer.model.torch_vae import TorchVAE
from explorer.schema import MAX_JSON_BYTES, parse_json

KIND = "diffusers AutoencoderKL"
CLASS_NAME = "AutoencoderKL"
EXTRA_HINT = "pip install 'latent-explorer[diffusers]'"

_WEIGHTS = "diffusion_pytorch_model.safetensors"
_DEFAULT_SIZE = 256
# Frames per batch are chosen to keep about this many pixels in flight: the decoder's
# full-resolution activations (128 channels at 512 px for Stable Diffusion) dominate memory.
_PIXELS_PER_BATCH = 1 << 19
_SMALLEST_DTYPE_BYTES = 2  # float16 or bfloat16 weights


def load_diffusers_vae(
    folder: str | os.PathLike[str],
    device: str = "auto",
    *,
    frame_size: int | Sequence[int] | None = None,
    half_precision: bool | None = None,
    batch_size: int | None = None,
) -> TorchVAE:
    """Load an AutoencoderKL from a local ``save_pretrained`` folder.

    ``half_precision`` runs it in float16 on CUDA. By default it does unless the config
    asks to keep float32 with ``force_upcast``, which diffusers assumes when a config does
    not say (the SDXL VAE needs it: its activations overflow float16). ``batch_size``
    defaults to fewer frames the larger they are.
    """
    root = Path(folder).expanduser()
    config = _read_config(root)
    _check_size_against_weights(root, config)
    module = ScaledAutoencoderKL(_from_pretrained(root))
    loaded = module.autoencoder.config  # the folder's config completed with the defaults
    factor = 2 ** (len(loaded.block_out_channels) - 1)
    if frame_size is None:
        frame_size = config.get("sample_size") or _DEFAULT_SIZE
    size = _frame_size(root, frame_size, factor)
    if half_precision is None:
        half_precision = not loaded.get("force_upcast", True)
    if batch_size is None:
        batch_size = max(1, min(32, _PIXELS_PER_BATCH // (size[0] * size[1])))
    return TorchVAE(
        module,
        size,
        (loaded.latent_channels, size[0] // factor, size[1] // factor),
        kind=KIND,
        metadata={"path": str(root), "scaling_factor": module.scale, "shift_factor": module.shift},
        device=device,
        batch_size=batch_size,
        half=half_precision,
    )


def _read_config(folder: Path) -> dict[str, Any]:
    """The folder's ``config.json``, checked to describe an AutoencoderKL."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ModelFileError(
            f"{folder} {what}: a diffusers model is opened from a local folder written by "
            "save_pretrained (models are never downloaded)"
        )
    file = folder / "config.json"
    if not file.is_file():
        hint = (
            ": it looks like a pipeline, pass its vae subfolder"
            if (folder / "vae" / "config.json").is_file()
            else ", so it is not a diffusers model folder (save_pretrained writes one)"
        )
        raise ModelFileError(f"{folder} has no config.json{hint}")
    require_file(file, "config", ModelFileError)
    if file.stat().st_size > MAX_JSON_BYTES:
        raise ModelFileError(f"{file} is too large for a model config")
    config = parse_json(file.read_bytes(), str(file), ModelFileError)
    class_name = config.get("_class_name") if isinstance(config, dict) else None
    if class_name != CLASS_NAME:
        raise ModelFileError(
            f"{folder} holds a diffusers {class_name or 'model of unknown class'}; "
            f"only {CLASS_NAME} folders can be opened"
        )
    return config


class ScaledAutoencoderKL(nn.Module):
    """An AutoencoderKL seen through TorchVAE's conventions: images in [0, 1], scaled latents."""

    def __init__(self, autoencoder: nn.Module) -> None:
        super().__init__()
        self.autoencoder = autoencoder
        self.scale = float(autoencoder.config.get("scaling_factor") or 1.0)
        self.shift = float(autoencoder.config.get("shift_factor") or 0.0)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        posterior = self.autoencoder.encode(images * 2.0 - 1.0).latent_dist
        mu = (posterior.mean - self.shift) * self.scale
        return mu, posterior.logvar + 2.0 * math.log(self.scale)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        images = self.autoencoder.decode(latents / self.scale + self.shift).sample
        return (images + 1.0) / 2.0


def _check_size_against_weights(folder: Path, config: dict[str, Any]) -> None:
    """Refuse a config that describes a larger network than its weights can fill.

    The network is built on the meta device (shapes only, no memory), so a hostile
    ``config.json`` asking for billions of parameters costs nothing before it is refused.
    """
    autoencoder_class, _ = _import_diffusers()
    try:
        with torch.device("meta"):
            skeleton = autoencoder_class.from_config(config)
    except Exception as exc:  # diffusers raises many kinds for a malformed config
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelFileError(
            f"{folder}/config.json does not describe an {CLASS_NAME}: {reason}"
        ) from None
    parameters = sum(p.numel() for p in skeleton.parameters())
    # require_file also refuses FIFOs and devices, which diffusers would read forever.
    files = [require_file(f, "weights", ModelFileError) for f in folder.glob("*.safetensors")]
    weights = sum(f.stat().st_size for f in files)
    if weights and parameters * _SMALLEST_DTYPE_BYTES > weights:
        raise ModelFileError(
            f"{folder}/config.json describes {parameters:,} parameters, more than its "
            f"weights ({weights:,} bytes) can hold: the config and weights do not belong together"
        )


def _from_pretrained(folder: Path) -> nn.Module:
    """The AutoencoderKL in ``folder``, from its safetensors weights and never from a hub."""
    autoencoder_class, accelerate = _import_diffusers()
    variant = _weights_variant(folder)
    try:
        return autoencoder_class.from_pretrained(
            folder,
            local_files_only=True,
            use_safetensors=True,
            variant=variant,
            low_cpu_mem_usage=accelerate,  # without accelerate, asking for it only warns
        )
    except Exception as exc:  # diffusers raises many kinds; all mean "this folder is bad"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelFileError(f"{folder}: diffusers could not load it: {reason}") from exc


def _import_diffusers() -> tuple[type, bool]:
    """The AutoencoderKL class and whether accelerate is there, or the extra's install hint."""
    try:
        from diffusers import AutoencoderKL
        from diffusers.utils import is_accelerate_available
    except ImportError as exc:
        if exc.name == "diffusers":
            raise ModelFileError(
                f"opening a diffusers {CLASS_NAME} needs the diffusers extra: {EXTRA_HINT}"
            ) from exc
        raise ModelFileError(
            f"diffusers is installed but does not import ({exc}); reinstall it: {EXTRA_HINT}"
        ) from exc
    return AutoencoderKL, is_accelerate_available()


def _weights_variant(folder: Path) -> str | None:
    """None for the plain weights file, else the variant (``fp16``...) that is present."""
    if (folder / _WEIGHTS).is_file() or (folder / f"{_WEIGHTS}.index.json").is_file():
        return None
    variants = sorted(p.name.split(".")[1] for p in folder.glob(_WEIGHTS.replace(".", ".*.")))
    if variants:
        return variants[0]
    pickled = sorted(p.name for p in folder.glob("*.bin"))
    if pickled:
        raise ModelFileError(
            f"{folder} holds only pickled weights ({pickled[0]}), which Latent Explorer never "
            "loads because they can run code: re-save the model with save_pretrained"
        )
    raise ModelFileError(f"{folder} has no weights: expected {_WEIGHTS} beside config.json")


def _frame_size(folder: Path, value: Any, factor: int) -> tuple[int, int]:
    """``value`` (one size or [height, width]) rounded down to a multiple of ``factor``."""
    pair = [value, value] if isinstance(value, int) else value
    valid = isinstance(pair, (list, tuple)) and len(pair) == 2
    if not valid or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ModelFileError(f"{folder}: frame_size must be [height, width] pixels, not {value!r}")
    height, width = (max(factor, v // factor * factor) for v in pair)
    return check_frame_side(str(folder), (height, width))
