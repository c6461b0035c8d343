"""A diffusers model folder written by ``save_pretrained``, checked before anything is built.

What every diffusers class shares: ``config.json`` is read with a size bound; the class
is imported only by a name the caller has already accepted (never whatever ``config.json``
says); the network the config describes is sized on the meta device against the weights
before any memory is allocated; weights load from safetensors files only, from the folder
only (pickled ``.bin`` weights are refused, nothing is downloaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.errors import ModelFileError, describe_error
from explorer.fileio import require_file
from explorer.model.contract import check_frame_side
from explorer.schema import MAX_JSON_BYTES, parse_json

EXTRA_HINT = "pip install 'latent-explorer[diffusers]'"
WEIGHTS = "diffusion_pytorch_model.safetensors"
_SMALLEST_DTYPE_BYTES = 2  # float16 or bfloat16 weights


def read_config(folder: Path) -> dict[str, Any]:
    """The folder's ``config.json`` as a JSON object, whatever class it names."""
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
    if not isinstance(config, dict):
        raise ModelFileError(f"{file} is not a diffusers config: it holds no JSON object")
    return config


def import_class(class_name: str) -> tuple[type[nn.Module], bool]:
    """diffusers' class ``class_name`` and whether accelerate is installed.

    ``class_name`` must be one the caller supports: it is looked up on the diffusers
    package, so a name taken straight from a config could reach any of its attributes.
    """
    try:
        import diffusers
        from diffusers.utils import is_accelerate_available
    except ImportError as exc:
        if exc.name == "diffusers":
            raise ModelFileError(
                f"opening a diffusers {class_name} needs the diffusers extra: {EXTRA_HINT}"
            ) from exc
        raise ModelFileError(
            f"diffusers is installed but does not import ({exc}); reinstall it: {EXTRA_HINT}"
        ) from exc
    try:
        model_class = getattr(diffusers, class_name)
    except (AttributeError, ImportError) as exc:
        raise ModelFileError(
            f"the installed diffusers {diffusers.__version__} has no {class_name} "
            f"({describe_error(exc)}): upgrade it with {EXTRA_HINT} --upgrade"
        ) from exc
    return model_class, is_accelerate_available()


def check_size_against_weights(
    folder: Path, config: dict[str, Any], model_class: type[nn.Module]
) -> None:
    """Refuse a config that describes a larger network than its weights can fill.

    The network is built on the meta device (shapes only, no memory), so a hostile
    ``config.json`` asking for billions of parameters costs nothing before it is refused.
    """
    try:
        with torch.device("meta"):
            skeleton = model_class.from_config(config)
    except Exception as exc:  # diffusers raises many kinds for a malformed config
        raise ModelFileError(
            f"{folder}/config.json does not describe a {model_class.__name__}: "
            f"{describe_error(exc)}"
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


def from_pretrained(folder: Path, model_class: type[nn.Module], accelerate: bool) -> nn.Module:
    """The model in ``folder``, from its safetensors weights and never from a hub."""
    variant = weights_variant(folder)
    try:
        return model_class.from_pretrained(
            folder,
            local_files_only=True,
            use_safetensors=True,
            variant=variant,
            low_cpu_mem_usage=accelerate,  # without accelerate, asking for it only warns
        )
    except Exception as exc:  # diffusers raises many kinds; all mean "this folder is bad"
        raise ModelFileError(
            f"{folder}: diffusers could not load it: {describe_error(exc)}"
        ) from exc


def weights_variant(folder: Path) -> str | None:
    """None for the plain weights file, else the variant (``fp16``...) that is present."""
    if (folder / WEIGHTS).is_file() or (folder / f"{WEIGHTS}.index.json").is_file():
        return None
    variants = sorted(p.name.split(".")[1] for p in folder.glob(WEIGHTS.replace(".", ".*.")))
    if variants:
        return variants[0]
    pickled = sorted(p.name for p in folder.glob("*.bin"))
    if pickled:
        raise ModelFileError(
            f"{folder} holds only pickled weights ({pickled[0]}), which Latent Explorer never "
            "loads because they can run code: re-save the model with save_pretrained"
        )
    raise ModelFileError(f"{folder} has no weights: expected {WEIGHTS} beside config.json")


def fit_frame_size(folder: Path, value: Any, factor: int) -> tuple[int, int]:
    """``value`` (one size or [height, width]) rounded down to a multiple of ``factor``."""
    pair = [value, value] if isinstance(value, int) else value
    valid = isinstance(pair, (list, tuple)) and len(pair) == 2
    if not valid or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ModelFileError(f"{folder}: frame_size must be [height, width] pixels, not {value!r}")
    height, width = (max(factor, v // factor * factor) for v in pair)
    return check_frame_side(str(folder), (height, width))
