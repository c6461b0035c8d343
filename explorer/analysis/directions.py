"""Directions in latent space, and moving latents along them.

An attribute direction goes from the mean latent of one group of frames (A) to the mean
of another (B): adding it once takes A's average to B's. The principal directions of a
trajectory (as GANSpace finds them in a GAN's latent space) come ready-made, each as long
as one standard deviation of the video along it. Either is a flat ``[D]`` array, saved as
a ``.npy`` file that ``explorer export --direction`` reads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from explorer.analysis.features import along
from explorer.arrays import open_regular, read_data, read_header
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output
from explorer.latent.projection import principal_axes


def mean_difference(latents: np.ndarray, group_a: Sequence[int] | np.ndarray,
                    group_b: Sequence[int] | np.ndarray) -> np.ndarray:
    """The mean latent of rows ``group_b`` minus that of rows ``group_a``: flat [D]
    float32."""
    flat = np.asarray(latents).reshape(len(latents), -1)
    rows_a, rows_b = np.asarray(group_a, np.int64), np.asarray(group_b, np.int64)
    if not len(rows_a) or not len(rows_b):
        raise ExplorerError("a direction needs at least one frame in each group")
    if min(rows_a.min(), rows_b.min()) < 0 or max(rows_a.max(), rows_b.max()) >= len(flat):
        raise ExplorerError(f"the groups name rows outside the trajectory's {len(flat)}")
    difference = flat[rows_b].mean(axis=0, dtype=np.float64) \
        - flat[rows_a].mean(axis=0, dtype=np.float64)
    return difference.astype(np.float32)


def principal_directions(latents: np.ndarray, count: int) -> np.ndarray:
    """The top ``count`` principal directions of ``latents`` [N, ...], each scaled to one
    standard deviation of the video along it: [count, D] float32 (rows of zeros where the
    video has fewer directions)."""
    flat = np.asarray(latents).reshape(len(latents), -1)
    mean, axes = principal_axes(flat, min(count, flat.shape[1]))
    spread = along(flat, mean, axes).std(axis=0)
    return (axes * spread[:, None]).astype(np.float32)


def apply_direction(latents: np.ndarray, direction: np.ndarray, amount: float) -> np.ndarray:
    """``latents`` [N, ...] moved by ``amount`` times the flat ``direction`` [D]: float32,
    shaped as ``latents``."""
    latents = np.asarray(latents, np.float32)
    step = np.asarray(direction, np.float32).reshape(latents.shape[1:])
    return latents + np.float32(amount) * step


def save_direction(path: str | os.PathLike[str], direction: np.ndarray,
                   overwrite: bool = True) -> Path:
    """Write ``direction`` as a flat float32 ``.npy`` (atomically); returns the path."""
    flat = np.asarray(direction, np.float32).reshape(-1)
    with atomic_output(path, overwrite=overwrite) as temp, open(temp, "wb") as handle:
        np.save(handle, flat, allow_pickle=False)
    return Path(path)


def load_direction(path: str | os.PathLike[str], width: int) -> np.ndarray:
    """A direction file's flat [``width``] float32 array, checked before it is read:
    plain finite numbers, ``width`` of them (any shape that holds them, such as the model's
    latent shape)."""
    file, stream = open_regular(path, "direction")
    with stream:
        header = read_header(stream, os.fstat(stream.fileno()).st_size, str(file),
                             ExplorerError)
        if header.dtype.kind not in "iuf" or math.prod(header.shape) != width:
            raise ExplorerError(
                f"{file} holds {header.dtype} numbers of shape {header.shape}; a direction "
                f"for this model is {width} numbers")
        direction = read_data(stream, header, str(file), ExplorerError)
    if not np.isfinite(direction).all():
        raise ExplorerError(f"{file} contains NaN or infinite values")
    return direction.reshape(-1).astype(np.float32)
