"""Reading a clip's recipe: the ``.clip.json`` and ``.latents.npy`` written beside it.

:func:`~explorer.pipeline.export.save_recipe` writes them; :func:`load_recipe` reads them
back, checking the JSON against :class:`RecipeDocument` and the latents against it before
they are used to make the clip again.
"""

from __future__ import annotations

import os
from typing import Annotated

import numpy as np
from pydantic import AfterValidator, Field

from explorer.arrays import load_latents, open_regular
from explorer.errors import ExplorerError
from explorer.pipeline.export import ClipRecipe
from explorer.schema import (
    MAX_JSON_BYTES,
    FiniteFloat,
    Name,
    Scalar,
    Strict,
    parse_json,
    validate,
)


def _plain_name(name: str) -> str:
    if name in (".", ".."):
        raise ValueError("must be a file name")
    return name


FileName = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$"),
                     AfterValidator(_plain_name)]
"""A name in the recipe's own folder: no path, so a recipe cannot point anywhere else."""


class FrameKeyframe(Strict):
    frame: Annotated[int, Field(ge=0, le=2**53)]


class LatentKeyframe(Strict):
    latent: Annotated[list[FiniteFloat], Field(min_length=1)]


Keyframes = Annotated[list[FrameKeyframe | LatentKeyframe], Field(max_length=10_000)]


class RecipeDocument(Strict):
    """``.clip.json``: the clip, its latents file and how the path was made."""

    clip: FileName
    frames: Annotated[int, Field(ge=1, le=10_000_000)]
    latents: FileName
    keyframes: Keyframes
    settings: Annotated[dict[Name, Scalar | Keyframes], Field(max_length=64)]
    """Export settings, method, easing, model, video (see
    :func:`~explorer.pipeline.export.build_recipe`); recipes the window wrote before it
    used that repeat the keyframes here."""


def load_recipe(path: str | os.PathLike[str]) -> ClipRecipe:
    """The recipe in ``path`` (a ``.clip.json``) with its latents [frames, D] float32."""
    file, stream = open_regular(path, "recipe")
    with stream:
        text = stream.read(MAX_JSON_BYTES + 1)
    document = validate(RecipeDocument, parse_json(text, str(file)), file)
    try:
        latents = load_latents(file.parent / document.latents)
    except ExplorerError as exc:
        raise ExplorerError(f"{file}: latents: {exc}") from None
    if len(latents) != document.frames:
        raise ExplorerError(f"{file}: frames: {document.frames}, but {document.latents} holds "
                            f"{len(latents)} latents")
    records = [keyframe.model_dump() for keyframe in document.keyframes]
    for index, record in enumerate(records):
        if "latent" in record and len(record["latent"]) != latents.shape[1]:
            raise ExplorerError(
                f"{file}: keyframes.{index}.latent: {len(record['latent'])} numbers, but the "
                f"clip's latents have {latents.shape[1]}"
            )
    settings = {name: [keyframe.model_dump() for keyframe in value]
                if isinstance(value, list) else value
                for name, value in document.settings.items()}
    return ClipRecipe(np.ascontiguousarray(latents), records, settings)
