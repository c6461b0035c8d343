"""Scenes: a trajectory cut where the video cuts, and its scenes grouped by kind.

A cut is where the latent jumps (as a shot detector finds cuts in pixels): the step from
one row to the next is :data:`CUT_RATIO` times the mean of the steps around it (a burst
of motion makes several long steps, a cut one), at least :data:`MIN_SHARE` of the typical
distance between the video's frames, and the rows just after it all stay away from the
rows just before it (a flash or a corrupt frame jumps away and back, and is no cut).
Cuts closer than half a second keep the larger jump. The stretches between cuts are the
segments; a slow dissolve, with no jump, is not cut.

Segments are grouped by kind with k-means on the rows (the number of clusters chosen by
the silhouette score on rows spread evenly over the video, or as asked): a segment's
cluster is the one most of its rows fall in, so a scene that comes back is one cluster
and several segments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist, pdist

from explorer.analysis.features import reduced, step_lengths
from explorer.analysis.table import frame_lines, write_csv
from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory

MAX_CLUSTERS = 64
"""The most clusters that may be asked for: more are no kinds of scene, and colours run
out."""
AUTO_MAX_CLUSTERS = 10
"""The most clusters the automatic choice tries."""
MIN_SILHOUETTE = 0.25
"""Below this best silhouette score, clusters are no real structure (Kaufman and
Rousseeuw's rule of thumb), and the rows are one cluster."""
CHOICE_ROWS = 2000
"""Rows, spread evenly over the video, that the clusters are fitted on: the silhouette
score costs the square of the rows."""
CUT_RATIO = 4.0
"""How many times longer than the steps around it a cut's jump is (PySceneDetect's
adaptive detector takes 3 for its frame scores; latents of moving actors jitter more)."""
NEIGHBOUR_STEPS = 2
"""The steps either side of a jump it is compared with: a burst of motion makes several
long steps, a cut one."""
MIN_SHARE = 0.5
"""A cut's jump is at least this share of the median distance between the video's
frames: a cut changes the picture, not a detail of it. (Over the real clips in
../shared/media, cuts reach 0.57 and more, an actor's sudden move at most 0.53.)"""
ODD_ROWS = 2
"""The most odd rows in a row (a flash, corrupt frames) that a cut must outlast."""
MIN_SCENE_SECONDS = 0.5
"""Cuts closer than this keep the larger jump only: a shot this short is no scene."""


@dataclass(frozen=True)
class Segmentation:
    """Each row's cluster and segment, both numbered from 0 in order of first appearance."""

    cluster: np.ndarray
    """[N] int64: the same for every row of a segment."""
    segment: np.ndarray
    """[N] int64: the stretches between cuts, in time order."""
    silhouette: float | None
    """The silhouette score of the rows' clusters (None for one cluster)."""

    @property
    def clusters(self) -> int:
        return int(self.cluster.max()) + 1

    @property
    def segments(self) -> int:
        return int(self.segment[-1]) + 1

    def spans(self) -> list[tuple[int, int]]:
        """The first and last row of each segment, in order."""
        starts = np.flatnonzero(np.diff(self.segment, prepend=-1))
        ends = np.append(starts[1:] - 1, len(self.segment) - 1)
        return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def find_segments(latents: np.ndarray, time_s: np.ndarray | None = None,
                  clusters: int | None = None) -> Segmentation:
    """Cut ``latents`` [N, ...] (rows in time order, at ``time_s`` seconds) into segments
    and group them into at most ``clusters`` clusters (fewer when no segment's majority
    is in some), or as many as fit best when None."""
    if len(latents) == 0:
        raise ExplorerError("there are no latents to cut into scenes")
    if clusters is not None and not 1 <= clusters <= MAX_CLUSTERS:
        raise ExplorerError(f"ask for 1 to {MAX_CLUSTERS} clusters, not {clusters}")
    features = reduced(latents)
    sample = features[np.unique(np.linspace(0, len(features) - 1, CHOICE_ROWS).astype(int))]
    distinct = len(np.unique(sample, axis=0))
    if clusters is not None and clusters > distinct:
        raise ExplorerError(f"the latents hold only {distinct} distinct rows, too few for "
                            f"{clusters} clusters; ask for at most {distinct}")
    centroids, silhouette = _cluster(sample, clusters, distinct)
    segment = np.zeros(len(features), np.int64)
    segment[_cuts(features, sample, _min_run(time_s, len(features)))] = 1
    segment = np.cumsum(segment)
    labels = _nearest(features, centroids)
    votes = np.zeros((segment[-1] + 1, len(centroids)), np.int64)
    np.add.at(votes, (segment, labels), 1)
    majority = votes.argmax(axis=1)
    _, first, inverse = np.unique(majority, return_index=True, return_inverse=True)
    cluster = np.argsort(np.argsort(first))[inverse][segment]  # numbered by first appearance
    return Segmentation(cluster, segment, silhouette if len(first) > 1 else None)


def write_segments_csv(path: str | os.PathLike[str], trajectory: Trajectory,
                       segmentation: Segmentation, overwrite: bool = True) -> None:
    """One line a video frame: frame, time (seconds), cluster, segment."""
    lines = frame_lines(trajectory)
    write_csv(path, [
        ("frame", lines.frame, "{:d}"),
        ("time", lines.time, "{:.4f}"),
        ("cluster", segmentation.cluster[lines.row], "{:d}"),
        ("segment", segmentation.segment[lines.row], "{:d}"),
    ], overwrite)


def _cuts(features: np.ndarray, sample: np.ndarray, min_run: int) -> list[int]:
    """The rows that start a segment after a cut (see the module docstring); ``sample``
    holds rows spread over the video."""
    if len(features) < 2:
        return []
    jumps = step_lengths(features)  # jumps[i]: from row i to row i + 1
    around = np.ones(2 * NEIGHBOUR_STEPS + 1)
    around[NEIGHBOUR_STEPS] = 0.0
    usual = np.convolve(jumps, around, "same") / np.maximum(
        np.convolve(np.ones_like(jumps), around, "same"), 1.0)
    smallest = MIN_SHARE * float(np.median(pdist(sample))) if len(sample) > 1 else 0.0
    cuts: list[int] = []
    for step in np.argsort(-jumps, kind="stable"):
        if not jumps[step] > smallest:
            break
        start = int(step) + 1
        if jumps[step] > CUT_RATIO * usual[step] and _lasting(features, start, jumps[step]) \
                and all(abs(start - cut) >= min_run for cut in cuts):
            cuts.append(start)
    return sorted(cuts)


def _lasting(features: np.ndarray, start: int, jump: float) -> bool:
    """Whether the rows just before ``start`` and just after it all stay more than half
    the ``jump`` apart: a jump away and back over up to :data:`ODD_ROWS` odd rows is no
    cut (unless the video moves so fast that its frames drift that far meanwhile)."""
    before = features[max(0, start - 1 - ODD_ROWS):start]
    after = features[start:start + 1 + ODD_ROWS]
    return bool(cdist(before, after).min() > jump / 2)


def _cluster(sample: np.ndarray, clusters: int | None,
             distinct: int) -> tuple[np.ndarray, float | None]:
    """Centroids [k, c] of ``sample``, and their silhouette score (None for one)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    def fit(k: int) -> tuple[np.ndarray, float | None]:
        if k == 1:
            return sample.mean(axis=0, keepdims=True), None
        kmeans = KMeans(k, n_init=4, random_state=0).fit(sample)
        return kmeans.cluster_centers_, float(silhouette_score(sample, kmeans.labels_))

    if clusters is not None:
        return fit(clusters)
    tried = [fit(k) for k in range(2, min(AUTO_MAX_CLUSTERS, distinct - 1) + 1)]
    best = max(tried, key=lambda fitted: fitted[1], default=None)
    if best is None or best[1] < MIN_SILHOUETTE:
        return fit(1)
    return best


def _nearest(features: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """The nearest centroid of each row."""
    return cKDTree(centroids).query(features)[1].astype(np.int64)


def _min_run(time_s: np.ndarray | None, rows: int) -> int:
    """Rows in :data:`MIN_SCENE_SECONDS` (at least one; one when the times are unknown)."""
    if time_s is None or rows < 2:
        return 1
    step = float(np.median(np.diff(time_s)))
    return max(1, round(MIN_SCENE_SECONDS / step)) if step > 0 else 1
