"""Drawing a traversal: its latents decoded into tiles, laid out as the classic grid (a row
an axis, a column a value) or as the frames of an animated sweep (a tile an axis, all
moving together from -k to +k standard deviations and back)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from explorer.errors import ExplorerError
from explorer.model import guard
from explorer.model.contract import AnyVAE, is_temporal
from explorer.pipeline.decode import decode_after
from explorer.pipeline.export import draw_label
from explorer.video.writer import resize_frame

MAX_PIXELS = 1 << 26
"""The most pixels a grid image may have (64 Mpx, 192 MB of RGB)."""
MAX_SIDE = 8192
"""The longest side of an animated sweep's frames, as of any clip."""
_BATCH = 16


def check_size(rows: int, columns: int, tile: tuple[int, int]) -> None:
    """A one-line error unless a ``rows`` × ``columns`` grid of ``tile`` = (width, height)
    tiles fits :data:`MAX_PIXELS`."""
    width, height = columns * tile[0], rows * tile[1]
    if width * height > MAX_PIXELS:
        raise ExplorerError(
            f"the traversal would be {width:,}×{height:,} pixels; ask for fewer axes or steps, "
            "or smaller tiles")


def sweep_layout(rows: int) -> tuple[int, int]:
    """(rows, columns) of the tiles in a sweep's frames: about square."""
    columns = math.ceil(math.sqrt(rows))
    return math.ceil(rows / columns), columns


def check_sweep_size(rows: int, tile: tuple[int, int]) -> None:
    """A one-line error unless the frames of a sweep of ``rows`` axes fit a clip."""
    down, across = sweep_layout(rows)
    if max(across * tile[0], down * tile[1]) > MAX_SIDE:
        raise ExplorerError(f"the sweep's frames would be {across * tile[0]:,}×"
                            f"{down * tile[1]:,} pixels; ask for fewer axes or smaller tiles")


def decode_tiles(vae: AnyVAE, latents: np.ndarray, tile: tuple[int, int],
                 context: np.ndarray | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Flat ``latents`` [M, D] decoded into tiles of ``tile`` = (width, height):
    [M, height, width, 3] uint8. A video autoencoder decodes each as a latent step after
    the ``context`` steps [c, D] (the steps before the one traversed), and shows its first
    frame. ``on_progress(done, total)`` follows the tiles."""
    shaped = np.asarray(latents, np.float32).reshape(-1, *vae.latent_shape)
    tiles = np.empty((len(shaped), tile[1], tile[0], 3), np.uint8)
    batch = 1 if is_temporal(vae) else _BATCH
    for start in range(0, len(shaped), batch):
        chunk = shaped[start:start + batch]
        if is_temporal(vae):
            frames = decode_after(vae, context, chunk)[:1]
        else:
            frames = guard.decode(vae, chunk)
        for offset, frame in enumerate(frames):
            tiles[start + offset] = resize_frame(frame, tile, "lanczos")
        if on_progress:
            on_progress(start + len(chunk), len(shaped))
    return tiles


def value_label(deviations: float) -> str:
    """``+1.5sd``: OpenCV's fonts draw ASCII only."""
    return f"{deviations:+.1f}sd"


def grid_image(tiles: np.ndarray, row_labels: Sequence[str],
               values: Sequence[float]) -> np.ndarray:
    """Tiles [R, S, H, W, 3] as one image [R·H, S·W, 3]: each row's label in its first
    tile, each column's value (in standard deviations) at the top of the first row."""
    labelled = tiles.copy()
    for row, label in enumerate(row_labels):
        labelled[row, 0] = draw_label(labelled[row, 0], label)
    for column, value in enumerate(values):
        labelled[0, column] = draw_label(labelled[0, column], value_label(value), at_top=True)
    rows, columns, height, width, _ = labelled.shape
    return labelled.transpose(0, 2, 1, 3, 4).reshape(rows * height, columns * width, 3)


def sweep_frames(tiles: np.ndarray, labels: Sequence[str],
                 values: Sequence[float]) -> Iterator[np.ndarray]:
    """The frames of the animated sweep of tiles [R, S, H, W, 3]: every axis's tile in
    one about square image (:func:`sweep_layout`), through the ``values`` and back."""
    rows, steps, height, width, _ = tiles.shape
    down, across = sweep_layout(rows)
    for step in [*range(steps), *range(steps - 2, 0, -1)]:
        frame = np.zeros((down * height, across * width, 3), np.uint8)
        for row in range(rows):
            top, left = (row // across) * height, (row % across) * width
            text = f"{labels[row]} {value_label(values[step])}"
            frame[top:top + height, left:left + width] = draw_label(tiles[row, step], text)
        yield frame
