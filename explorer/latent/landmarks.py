"""UMAP for long videos: fit a sample of landmark frames, place the rest beside them.

UMAP's fit takes about a second per thousand frames on a 2-core machine (from a PCA start;
its spectral start alone takes minutes on tens of thousands of frames of a slowly moving
video), so above ``landmarks`` frames it is fitted on landmarks only: one frame from each
of ``landmarks`` equal stretches of the video (seeded, so the same each time, and never in
step with a looping video's period). Every frame is then placed at the inverse-distance
blend of the map positions of its nearest landmarks in latent space (``NEIGHBOURS`` of
them). The neighbour search runs in the principal subspace the UMAP was fitted in (at most
``PRE_COMPONENTS`` ≤ 64 dimensions, so image-shaped latents are reduced first) with a k-d
tree, a chunk of frames at a time, so memory stays proportional to a chunk and progress
and cancelling follow it: about 3.5 s for a million 16-d frames beside 50,000 landmarks,
after 20 to 80 s of UMAP on the landmarks (a loaded 2-core machine).

Plain functions of their inputs: run them on a worker, or in the child process that fits
UMAP today (numba holds the GIL while UMAP lays out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from explorer.errors import Cancelled
from explorer.latent.projection import UMAPProjection

# Landmarks that place each other frame.
NEIGHBOURS = 8
# Numbers of latent read in one chunk (64 MB of float32), and at most this many frames.
_CHUNK_NUMBERS = 1 << 24
_CHUNK_ROWS = 1 << 16


@dataclass(frozen=True, eq=False)
class LandmarkLayout:
    """A UMAP layout of every frame: ``embedding`` [N, 2] float32; ``landmarks`` [L] int64,
    the rows UMAP itself laid out (ascending; every row when N ≤ the landmark count), and
    ``projection``, the UMAP of those rows alone (its ``params`` describe the layout)."""

    embedding: np.ndarray
    landmarks: np.ndarray
    projection: UMAPProjection


def fit_umap_with_landmarks(
    latents: np.ndarray,
    times: np.ndarray,
    landmarks: int = 50_000,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    init: str = "pca",
) -> LandmarkLayout:
    """Lay out ``latents`` [N, *shape] (e.g. memory-mapped) with UMAP, on at most
    ``landmarks`` of them spread evenly over ``times`` [N]; same seed, same layout.

    ``on_progress(done, total)`` counts UMAP's epochs and then one step per chunk of
    frames placed (``total`` is known from UMAP's first report); ``should_stop`` is polled
    as often, and raises :class:`Cancelled`. ``init`` goes to
    :meth:`UMAPProjection.fit`: ``"pca"`` by default, as umap-learn's spectral start takes
    minutes on a video's chain-like neighbour graph from about 10,000 frames up.
    """
    count = len(latents)
    if len(times) != count:
        raise ValueError(f"{len(times)} times for {count} latents")
    if count <= landmarks:
        projection = UMAPProjection.fit(latents, seed=seed, on_progress=on_progress,
                                        should_stop=should_stop, init=init)
        return LandmarkLayout(projection.embedding, np.arange(count, dtype=np.int64),
                              projection)
    rows = landmark_rows(times, landmarks, seed)
    chunk = int(np.clip(_CHUNK_NUMBERS // max(int(np.prod(latents.shape[1:])), 1),
                        1, _CHUNK_ROWS))
    starts = range(0, count, chunk)
    epochs = [0]  # UMAP's epoch count, once it says

    def fit_progress(done: int, total: int) -> None:
        epochs[0] = total
        if on_progress is not None:
            on_progress(done, total + len(starts))

    projection = UMAPProjection.fit(latents[rows], seed=seed, on_progress=fit_progress,
                                    should_stop=should_stop, init=init)
    tree = cKDTree(projection.reduce(projection.latents))
    embedding = np.empty((count, 2), np.float32)
    for step, start in enumerate(starts):
        if should_stop is not None and should_stop():
            raise Cancelled("UMAP layout cancelled")
        part = projection.reduce(latents[start : start + chunk])
        embedding[start : start + chunk] = _blend(tree, part, projection.embedding)
        if on_progress is not None:
            on_progress(epochs[0] + step + 1, epochs[0] + len(starts))
    embedding[rows] = projection.embedding
    return LandmarkLayout(embedding, rows, projection)


def umap_state(latents: np.ndarray, seed: int = 0,
               on_progress: Callable[[int, int], None] | None = None) -> dict:
    """The ``state()`` of a UMAP layout of every row of ``latents`` (the rows in time
    order), laid out on landmarks above 50,000 of them: what the window's background fit
    sends back, and :func:`~explorer.latent.projection.projection_from_state` restores."""
    layout = fit_umap_with_landmarks(latents, np.arange(len(latents)), seed=seed,
                                     on_progress=on_progress)
    return {**layout.projection.state(), "embedding": layout.embedding}


def landmark_rows(times: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """[min(count, N)] int64 rows, ascending: one from each of ``count`` equal runs of the
    rows ordered by ``times``, at a seeded random place in its run."""
    order = np.argsort(np.asarray(times), kind="stable")
    total = len(order)
    if count >= total:
        return np.arange(total, dtype=np.int64)
    bounds = np.arange(count + 1) * total // count  # every run holds at least one row
    offsets = np.random.default_rng(seed).random(count) * np.diff(bounds)
    return np.sort(order[bounds[:-1] + offsets.astype(np.int64)]).astype(np.int64)


def _blend(tree: cKDTree, queries: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """[M, 2] float32: each query's place, the 1/d² blend of the ``positions`` of its
    nearest tree points (exactly the position of a point it coincides with)."""
    distance, index = tree.query(queries, k=min(NEIGHBOURS, tree.n), workers=-1)
    distance, index = distance.reshape(len(queries), -1), index.reshape(len(queries), -1)
    with np.errstate(divide="ignore"):
        weight = 1.0 / np.square(distance)
    hit = np.isinf(weight)
    on_point = hit.any(axis=1)
    weight[on_point] = hit[on_point]
    weight /= weight.sum(axis=1, keepdims=True)
    return np.einsum("mk,mkj->mj", weight, positions[index].astype(np.float64)).astype(np.float32)
