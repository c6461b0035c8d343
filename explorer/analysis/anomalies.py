"""Frames that stand out: badly reconstructed, far from the frames around them in time, or
alone in latent space.

Each measure becomes a robust z-score (distance from its median in median absolute
deviations, so the outliers being looked for do not hide themselves by inflating a
standard deviation; with a least spread, so a very even video does not make small
differences look large), counted only above the median, and a row's score is their mean:

- reconstruction: the row's PSNR (``Trajectory.psnr_db``), lower is worse;
- time: the distance from the row's latent to the median latent of the few rows before
  it, or after it, whichever is nearer (a cut between scenes is near one side, a flash
  or a corrupt frame near neither), over the usual step there; on a log scale, as the
  next;
- density: the distance to its :data:`NEIGHBOURS`-th nearest latent.

A measure reaching :data:`REASON_Z` is named among the row's reasons.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.spatial import cKDTree
from scipy.stats import median_abs_deviation

from explorer.analysis.features import reduced, step_lengths
from explorer.analysis.table import write_csv
from explorer.latent.trajectory import Trajectory

TIME_WINDOW = 3
"""Rows just before a row, and just after it, whose median latent it is compared with: a
run of up to two odd rows still differs from it."""
NEIGHBOURS = 5
"""The neighbour whose distance measures density: a handful of alike odd frames still
lie far from the rest."""
REASON_Z = 3.0
"""Robust z-score from which a measure is named as a reason."""
LEAST_DB_SPREAD = 1.0
"""The least spread of PSNRs (in dB) a z-score counts in: a video reconstructed equally
well throughout has a tiny spread, which would make a dB less look like an anomaly."""
LEAST_LOG_SPREAD = 0.25
"""The same for the distances, on their log scale: a factor of about 1.3."""


@dataclass(frozen=True)
class AnomalyScores:
    """Each row's anomaly score, and the measures it comes from."""

    score: np.ndarray
    """[N] float64: the mean of the measures' z-scores above their medians."""
    z: dict[str, np.ndarray]
    """Each measure's robust z-score [N], by name: ``reconstruction`` (when the PSNR is
    known), ``time``, ``density``."""
    psnr_db: np.ndarray | None
    ratio: dict[str, np.ndarray]
    """``time``: each row's distance from its neighbours in time over the usual step
    there; ``density``: its distance to its neighbours in latent space over the median
    row's."""

    def top(self, count: int) -> np.ndarray:
        """The ``count`` rows with the highest scores, highest first (earlier first on a
        tie)."""
        return np.argsort(-self.score, kind="stable")[:count]

    def reasons(self, row: int) -> str:
        """Why ``row`` stands out, in a few words: its measures from :data:`REASON_Z` up,
        strongest first; ``nothing stands out`` when none reaches it."""
        found = sorted((z[row], name) for name, z in self.z.items() if z[row] >= REASON_Z)
        words = [self._reason(name, row) for _, name in reversed(found)]
        return "; ".join(words) or "nothing stands out"

    def _reason(self, name: str, row: int) -> str:
        if name == "reconstruction" and self.psnr_db is not None:
            return (f"reconstruction error (PSNR {self.psnr_db[row]:.1f} dB, median "
                    f"{np.median(self.psnr_db):.1f})")
        if name == "time":
            return (f"far from its neighbours in time ({self.ratio[name][row]:.1f}x the usual "
                    "step)")
        return f"in a sparse part of latent space ({self.ratio[name][row]:.1f}x usual distance)"


def score_anomalies(latents: np.ndarray, psnr_db: np.ndarray | None = None) -> AnomalyScores:
    """Score the rows of ``latents`` [N, ...] (in time order), with their reconstruction
    PSNR when known."""
    features = reduced(latents)
    ratio = {"time": _time_ratio(features), "density": _ratio(_density_distance(features))}
    z = {name: _robust_z(np.log(np.maximum(values, 1e-12)), LEAST_LOG_SPREAD)
         for name, values in ratio.items()}
    if psnr_db is not None:
        z = {"reconstruction": _robust_z(-np.asarray(psnr_db, np.float64), LEAST_DB_SPREAD),
             **z}
    score = np.mean([np.maximum(values, 0.0) for values in z.values()], axis=0)
    return AnomalyScores(score, z, psnr_db, ratio)


def write_anomalies_csv(path: str | os.PathLike[str], trajectory: Trajectory,
                        scores: AnomalyScores, count: int, overwrite: bool = True) -> None:
    """The ``count`` highest-scoring rows, highest first: frame (a latent step's first),
    time (seconds), score, reasons."""
    rows = scores.top(count)
    write_csv(path, [
        ("frame", trajectory.frame_index[rows], "{:d}"),
        ("time", trajectory.time_s[rows], "{:.4f}"),
        ("score", scores.score[rows], "{:.3f}"),
        ("reasons", [scores.reasons(int(row)) for row in rows], "{}"),
    ], overwrite)


def _time_ratio(features: np.ndarray) -> np.ndarray:
    """Each row's distance to the median latent of the :data:`TIME_WINDOW` rows before it,
    or of those after it, whichever is nearer, over the usual step there (a cut is near
    one side; a corrupt frame near neither)."""
    rows = len(features)
    if rows < 2:
        return np.ones(rows)
    width = 2 * TIME_WINDOW + 1
    nearest = np.full(rows, np.inf)
    for side in (np.arange(width) < TIME_WINDOW, np.arange(width) > TIME_WINDOW):
        median = median_filter(features, footprint=side[:, None], mode="nearest")
        nearest = np.minimum(nearest, np.linalg.norm(features - median, axis=1))
    # at the ends one side is the end row repeated, which may be the row itself
    nearest[0] = np.linalg.norm(features[0] - np.median(features[1:1 + TIME_WINDOW], axis=0))
    nearest[-1] = np.linalg.norm(features[-1] - np.median(features[-1 - TIME_WINDOW:-1], axis=0))
    lengths = step_lengths(features)
    usual = median_filter(np.append(lengths, lengths[-1]), size=4 * TIME_WINDOW + 1,
                          mode="nearest")  # the usual step around each row
    return nearest / np.maximum(usual, max(float(np.median(lengths)), 1e-12) * 1e-3)


def _density_distance(features: np.ndarray) -> np.ndarray:
    """Each row's distance to its :data:`NEIGHBOURS`-th nearest other row."""
    if len(features) < 2:
        return np.zeros(len(features))
    # the row itself comes first, at distance 0 (or a copy of it, at the same distance)
    distances, _ = cKDTree(features).query(features, k=min(NEIGHBOURS, len(features) - 1) + 1)
    return distances[:, -1]


def _ratio(distances: np.ndarray) -> np.ndarray:
    """``distances`` over their median (ones when the median is zero)."""
    median = float(np.median(distances))
    return distances / median if median > 0 else np.ones_like(distances)


def _robust_z(values: np.ndarray, least_spread: float) -> np.ndarray:
    """How many (normal-scaled) median absolute deviations, but at least
    ``least_spread``, each value lies from the median."""
    spread = max(float(median_abs_deviation(values, scale="normal")), least_spread)
    return (values - np.median(values)) / spread
