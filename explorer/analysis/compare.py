"""Two models on one video: their maps side by side, the second turned onto the first, and
each frame's reconstruction PSNR under both.

Each model sees the video at its own input size (its ``frame_size`` and ``fit_mode``), so
the models may differ in latent size and in frame size. A model's PSNR is always its
reconstruction against the frame fitted to *that model's* size, as ``explorer encode``
measures it; two PSNRs of models of different sizes compare how well each reproduces what
it was given, not the same pixels.

Rows line up through the video's frames: a per-frame model has a row a frame, a video
autoencoder a row a latent step of several frames, and :func:`match_rows` finds the
second's row covering the first frame of each of the first's rows.

The maps are each model's own layout. When both are PCA layouts, the second is turned onto
the first by Procrustes (a rotation or reflection, one scale and a shift, fitted by least
squares on the rows that show the same frames): PCA axes are signed and ordered
arbitrarily, so without it the same motion can look mirrored or turned. Any other pair is
shown as it is, and :attr:`MapPair.note` says why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import orthogonal_procrustes

from explorer.analysis.table import frame_lines, write_csv
from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory

DIFFERENCE_FULL_SCALE = 128
"""A difference of this many levels (of 255) or more shows at full brightness."""


@dataclass(frozen=True)
class MapPair:
    """The two maps to draw: ``a`` as it is, ``b`` aligned to it where it can be."""

    a: np.ndarray
    """[N, 2]"""
    b: np.ndarray
    """[M, 2]"""
    aligned: bool
    note: str
    """How ``b`` is drawn, for a caption: aligned, or why not."""


@dataclass(frozen=True)
class FramePSNR:
    """A line a video frame of the first model's trajectory, and both models' PSNR of it
    (NaN where a model has no row for the frame or did not measure it)."""

    frame: np.ndarray
    time_s: np.ndarray
    psnr_a: np.ndarray
    psnr_b: np.ndarray
    row_a: np.ndarray
    """The first model's row of each frame."""
    row_b: np.ndarray
    """The second model's row of each frame, -1 where it has none."""

    def __len__(self) -> int:
        return len(self.frame)


def procrustes_align(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """``moving`` [N, k] turned (or mirrored), scaled and shifted onto ``reference``
    [N, k], the same points in another layout, with the least squared distance."""
    if np.shape(reference) != np.shape(moving):
        raise ExplorerError(f"Procrustes needs the same points in both layouts, not "
                            f"{np.shape(reference)} and {np.shape(moving)}")
    return _procrustes(reference, moving)(moving)


def _procrustes(reference: np.ndarray, moving: np.ndarray) -> Callable[[np.ndarray],
                                                                       np.ndarray]:
    """The similarity transform taking ``moving`` [N, k] closest to ``reference`` [N, k]
    (least squares), to apply to any points of the moving layout."""
    reference = np.asarray(reference, np.float64)
    moving = np.asarray(moving, np.float64)
    target_centre, source_centre = reference.mean(axis=0), moving.mean(axis=0)
    source = moving - source_centre
    rotation, singular_sum = orthogonal_procrustes(source, reference - target_centre)
    spread = float(np.sum(source**2))
    scale = singular_sum / spread if spread > 0 else 1.0

    def transform(points: np.ndarray) -> np.ndarray:
        moved = (np.asarray(points, np.float64) - source_centre) @ rotation * scale
        return (moved + target_centre).astype(np.float32)

    return transform


def match_rows(a: Trajectory, b: Trajectory) -> np.ndarray:
    """The row of ``b`` covering the first frame of each row of ``a`` (-1 where none
    does): row for row when both are per-frame trajectories of the same frames."""
    return b.rows_of_frames(a.frame_index)


def paired_maps(a: np.ndarray, kind_a: str, b: np.ndarray, kind_b: str,
                b_of_a: np.ndarray | None = None) -> MapPair:
    """The maps of layouts ``a`` (of kind ``kind_a``: ``pca``, ``umap``) and ``b``, with
    ``b`` aligned to ``a`` when both are PCA layouts. ``b_of_a`` is the row of ``b``
    showing each row of ``a``'s frame (-1: none, :func:`match_rows`); without it, rows
    are matched one for one, and only maps of as many rows are aligned."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if kind_a != "pca" or kind_b != "pca":
        return MapPair(a, b, False, f"not aligned: the first map is {kind_a.upper()}, and "
                                    "only two PCA maps are")
    if b_of_a is None:
        if len(a) != len(b):
            return MapPair(a, b, False, f"not aligned: {len(a)} and {len(b)} rows (one "
                                        "model's rows are latent steps)")
        b_of_a = np.arange(len(a))
    shared = np.flatnonzero(np.asarray(b_of_a) >= 0)
    if len(np.unique(b_of_a[shared])) < 2:
        return MapPair(a, b, False, "not aligned: fewer than two frames in common")
    transform = _procrustes(a[shared], b[b_of_a[shared]])
    return MapPair(a, transform(b), True, "aligned to the first by Procrustes")


def psnr_on_rows(a: Trajectory, b: Trajectory) -> np.ndarray:
    """``b``'s PSNR for each row of ``a``: the mean, over the frames the row covers, of
    the PSNR of ``b``'s row covering each (NaN where ``b`` covers none of them or did
    not measure it). Row for row when both are per-frame trajectories of one selection."""
    if b.psnr_db is None:
        return np.full(len(a), np.nan)
    first = np.asarray(a.frame_index, np.int64)
    last = first if a.last_frame is None else np.asarray(a.last_frame, np.int64)
    spans = last - first + 1
    owner = np.repeat(np.arange(len(a)), spans)
    frames = first[owner] + np.arange(len(owner)) - np.repeat(np.cumsum(spans) - spans, spans)
    rows = b.rows_of_frames(frames)
    values = np.full(len(rows), np.nan)
    covered = rows >= 0
    values[covered] = np.asarray(b.psnr_db, np.float64)[rows[covered]]
    measured = np.isfinite(values)
    totals = np.bincount(owner[measured], values[measured], minlength=len(a))
    counts = np.bincount(owner[measured], minlength=len(a))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def frame_psnr(a: Trajectory, b: Trajectory) -> FramePSNR:
    """Both models' PSNR for each video frame the first trajectory covers (a video
    autoencoder's latent step gives each of its frames the step's PSNR)."""
    lines = frame_lines(a)
    row_b = b.rows_of_frames(lines.frame)
    if not np.any(row_b >= 0):
        raise ExplorerError("the two trajectories share no frame: encode the same part of "
                            "the video with both models")
    psnr_a = (np.full(len(lines.frame), np.nan) if a.psnr_db is None
              else np.asarray(a.psnr_db, np.float64)[lines.row])
    psnr_b = np.full(len(lines.frame), np.nan)
    if b.psnr_db is not None:
        has = row_b >= 0
        psnr_b[has] = np.asarray(b.psnr_db, np.float64)[row_b[has]]
    return FramePSNR(np.asarray(lines.frame, np.int64), np.asarray(lines.time, np.float64),
                     psnr_a, psnr_b, np.asarray(lines.row, np.int64), row_b)


def mean_db(psnr: np.ndarray) -> float | None:
    """The mean of the measured values, or None when none was measured."""
    values = np.asarray(psnr, np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def write_compare_csv(path: str | os.PathLike[str], table: FramePSNR,
                      overwrite: bool = True) -> Path:
    """A line a frame: ``frame, time, psnr_a, psnr_b`` (an empty field: not measured)."""
    write_csv(path, [("frame", table.frame.tolist(), "{:d}"),
                     ("time", table.time_s.tolist(), "{:.4f}"),
                     ("psnr_a", table.psnr_a.tolist(), "{:.3f}"),
                     ("psnr_b", table.psnr_b.tolist(), "{:.3f}")], overwrite)
    return Path(path)


def sample_lines(count: int, samples: int = 5) -> list[int]:
    """``samples`` (at most ``count``) evenly spaced line numbers, first and last included."""
    if count <= 0:
        return []
    return sorted({round(float(i)) for i in np.linspace(0, count - 1, min(samples, count))})


def difference_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How far two reconstructions [H, W, 3] uint8 differ at each pixel: the absolute
    difference averaged over the colour channels, :data:`DIFFERENCE_FULL_SCALE` levels
    and more at full brightness, as a grey [H, W, 3] uint8 image at ``a``'s size (``b``
    is scaled to it when the models' sizes differ)."""
    import cv2

    if b.shape[:2] != a.shape[:2]:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    level = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=2)
    grey = np.clip(level * (255.0 / DIFFERENCE_FULL_SCALE), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)
