"""A traversal written to a file: the classic grid as a PNG, or the animated sweep as a
clip. The one path ``explorer traverse`` and the window's Traverse tab both take."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.analysis.render import (
    check_size,
    check_sweep_size,
    decode_tiles,
    grid_image,
    sweep_frames,
)
from explorer.analysis.traversal import TraversalAxes, traversal_latents
from explorer.latent.trajectory import Trajectory
from explorer.model.contract import AnyVAE, is_temporal
from explorer.model.video_vae.rule import CONTEXT_STEPS
from explorer.video.writer import ClipWriter, write_png


@dataclass(frozen=True)
class TraversalRequest:
    """What to traverse: from trajectory row ``row``, the ``picked`` axes (positions in
    the axes), ``steps`` values out to ``deviations`` standard deviations each way, in
    tiles of ``tile`` = (width, height)."""

    row: int
    picked: list[int]
    steps: int
    deviations: float
    tile: tuple[int, int]


def is_grid(output: str | os.PathLike[str]) -> bool:
    """Whether ``output`` names a grid image (a ``.png`` file) rather than a clip."""
    text = str(output)
    return Path(text).suffix.lower() == ".png" and not text.endswith(("/", "\\"))


def write_traversal(vae: AnyVAE, trajectory: Trajectory, axes: TraversalAxes,
                    request: TraversalRequest, output: str | os.PathLike[str],
                    fps: float = 12.0, overwrite: bool = False,
                    on_progress: Callable[[int, int], None] | None = None) -> None:
    """Decode the traversal and write it to ``output``: a grid (``.png``) or a clip."""
    grid = is_grid(output)
    rows = len(request.picked)
    check_size(rows, request.steps, request.tile)  # every tile is held, for a clip too
    if not grid:
        check_sweep_size(rows, request.tile)
    latents = traversal_latents(axes, trajectory.mu[request.row], request.picked,
                                request.steps, request.deviations)
    context = (trajectory.mu[max(0, request.row - CONTEXT_STEPS):request.row]
               if is_temporal(vae) else None)
    tiles = decode_tiles(vae, latents.reshape(-1, latents.shape[-1]), request.tile, context,
                         on_progress=on_progress)
    tiles = tiles.reshape(rows, request.steps, *tiles.shape[1:])
    labels = [f"{axes.label(axis)} dead" if axes.dead[axis] else axes.label(axis)
              for axis in request.picked]
    values = np.linspace(-request.deviations, request.deviations, request.steps)
    if grid:
        write_png(output, grid_image(tiles, labels, values), overwrite)
        return
    with ClipWriter(output, fps, overwrite=overwrite) as writer:
        for frame in sweep_frames(tiles, labels, values):
            writer.write(frame)
