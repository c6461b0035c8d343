"""Two models on one video: their maps side by side, the second turned onto the first, and
each frame's reconstruction PSNR under both.

Each model sees the video at its own input size (its ``frame_size`` and ``fit_mode``), so
the models may differ in latent size and in frame size. A model's PSNR is always its
reconstruction against the frame fitted to *that model's* size, as ``explorer encode``
measures it; two PSNRs of models of different sizes compare how well each reproduces what
it was given, not the same pixels.

The maps are each model's own layout. When both are PCA layouts of the same rows, the
second is turned onto the first by Procrustes (a rotation or reflection, one scale and a
shift, fitted by least squares): PCA axes are signed and ordered arbitrarily, so without it
the same motion can look mirrored or turned. Any other pair is shown as it is, and
:attr:`MapPair.note` says why.
"""

from __future__ import annotations

import os
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
    reference = np.asarray(reference, np.float64)
    moving = np.asarray(moving, np.float64)
    if reference.shape != moving.shape:
        raise ExplorerError(f"Procrustes needs the same points in both layouts, not "
                            f"{reference.shape} and {moving.shape}")
    target, source = reference - reference.mean(axis=0), moving - moving.mean(axis=0)
    rotation, singular_sum = orthogonal_procrustes(source, target)
    spread = float(np.sum(source**2))
    scale = singular_sum / spread if spread > 0 else 1.0
    return (source @ rotation * scale + reference.mean(axis=0)).astype(np.float32)


def paired_maps(a: np.ndarray, kind_a: str, b: np.ndarray, kind_b: str) -> MapPair:
    """The maps of layouts ``a`` (of kind ``kind_a``: ``pca``, ``umap``) and ``b``, with
    ``b`` aligned to ``a`` when both are PCA layouts of as many rows."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if kind_a != "pca" or kind_b != "pca":
        return MapPair(a, b, False, f"not aligned: the first map is {kind_a.upper()}, and "
                                    "only two PCA maps are")
    if len(a) != len(b):
        return MapPair(a, b, False, f"not aligned: {len(a)} and {len(b)} rows (one model's "
                                    "rows are latent steps)")
    if len(a) < 2:
        return MapPair(a, b, False, "not aligned: a single point")
    return MapPair(a, procrustes_align(a, b), True, "aligned to the first by Procrustes")


def frame_psnr(a: Trajectory, b: Trajectory) -> FramePSNR:
    """Both models' PSNR for each video frame the first trajectory covers (a video
    autoencoder's latent step gives each of its frames the step's PSNR)."""
    lines = frame_lines(a)
    row_b = np.array([-1 if (row := b.row_of_frame(int(frame))) is None else row
                      for frame in lines.frame], np.int64)
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
