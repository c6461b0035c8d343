"""diffusers video autoencoder folders (Wan, CogVideoX, LTX-Video...), opened offline.

A folder written by ``save_pretrained`` (``config.json`` and safetensors weights) opens
offline with the optional diffusers extra, as a
:class:`~explorer.model.video_vae.temporal_vae.TemporalVAE` whose latent steps each stand
for several frames; :data:`VIDEO_CLASSES` lists the classes that open (``_class_name`` in
``config.json``). As for image autoencoders (:mod:`explorer.model.diffusers_folder`), the
config is parsed with bounds, the network it describes is built on the meta device and
refused if its weights could not fill it, pickled ``.bin`` weights are refused and nothing
is downloaded.

Frames are fitted to ``frame_size``: the one asked for, else the config's
``sample_height`` × ``sample_width`` or ``sample_size``, else 256 px, rounded down to a
multiple of the model's spatial compression (Allegro's: to whole tiles, at least one).
``tiling`` turns on the class's memory savers (spatial tiles, and temporal tiles for
LTX-Video and HunyuanVideo; Allegro is always tiled): memory then stays flat in frame size
and clip length, and tiles are blended at their seams. On a CUDA GPU the model runs in the
precision its family's diffusers pipelines use
(:meth:`~explorer.model.video_vae.families.Family.dtype`), which ``half_precision``
overrides; on the CPU and MPS in float32.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explorer.errors import ModelFileError
from explorer.model.contract import check_frame_side
from explorer.model.diffusers_folder import (
    check_size_against_weights,
    fit_frame_size,
    from_pretrained,
    import_class,
    read_config,
)
from explorer.model.video_vae.families import FAMILIES, Family
from explorer.model.video_vae.temporal_vae import TemporalVAE

VIDEO_CLASSES = tuple(FAMILIES)
"""The ``_class_name`` of every diffusers video autoencoder that opens."""

_DEFAULT_SIZE = 256


def load_diffusers_video_vae(
    folder: str | os.PathLike[str],
    device: str = "auto",
    *,
    frame_size: int | Sequence[int] | None = None,
    tiling: bool = False,
    half_precision: bool | None = None,
) -> TemporalVAE:
    """Open the diffusers video autoencoder in a local ``save_pretrained`` folder.

    ``half_precision`` runs it in 16 bits on CUDA (True) or in float32 (False); None
    follows its family's pipelines.
    """
    root = Path(folder).expanduser()
    config = read_config(root)
    family = video_family(config.get("_class_name"), root)
    if half_precision and family.half is None:
        raise ModelFileError(
            f"{root}: a {family.class_name} runs only in float32 (its encoder loses the frames' "
            "detail in 16 bits): remove half_precision from explorer.json"
        )
    model_class, accelerate = import_class(family.class_name)
    check_size_against_weights(root, config, model_class)
    module = from_pretrained(root, model_class, accelerate)
    try:
        geometry = family.geometry(module)
        statistics = family.statistics(module).checked(geometry.channels)
    except (ModelFileError, ValueError) as exc:
        raise ModelFileError(f"{root}/config.json: {exc}") from None
    if frame_size is None:
        frame_size = _declared_size(config)
    size = check_frame_side(
        str(root), family.frame_size(module, fit_frame_size(root, frame_size, geometry.spatial))
    )
    family.limit_memory(module, tiling)
    return TemporalVAE(
        module, family, geometry, statistics, size,
        kind=f"diffusers {family.class_name}",
        metadata={
            "path": str(root),
            "scaling_factor": statistics.scale,
            "latents_mean_std": statistics.mean is not None,
            # Only where the class has memory savers: the out-of-memory advice offers it.
            **({"tiling": tiling} if family.tiles else {}),
            "deterministic": family.deterministic,
        },
        device=device,
        half_precision=half_precision,
    )


def holds_video_vae(folder: Path) -> bool:
    """Whether the diffusers folder's ``config.json`` names a video autoencoder class (a
    folder without a readable config is left to the image loader, which says why)."""
    try:
        class_name = read_config(folder).get("_class_name")
    except ModelFileError:
        return False
    return isinstance(class_name, str) and class_name in FAMILIES


def video_family(class_name: Any, folder: Path) -> Family:
    """The family of ``class_name``, or one line naming the classes that open."""
    if isinstance(class_name, str) and class_name in FAMILIES:
        return FAMILIES[class_name]
    held = f"a diffusers {class_name}" if isinstance(class_name, str) else "no model class"
    raise ModelFileError(
        f"{folder} holds {held}; the video autoencoders that open are {', '.join(VIDEO_CLASSES)}"
    )


def _declared_size(config: dict[str, Any]) -> Any:
    """The frame size the config declares (CogVideoX: ``sample_height`` and
    ``sample_width``; others ``sample_size``), else the default."""
    if "sample_height" in config and "sample_width" in config:
        return [config["sample_height"], config["sample_width"]]
    return config.get("sample_size") or _DEFAULT_SIZE
