"""The library's shared map: one PCA and one UMAP fitted on every video's latents, so that
all the videos lie on one map, which the window opens without fitting anything.

``map.npz`` (plain arrays, no pickles) holds ``kind`` (``"pca"``), ``mean`` [D] and
``components`` [2, D] (what :meth:`~explorer.latent.projection.PCAProjection.state`
saves: :func:`~explorer.latent.projection.projection_from_state` restores the projection
from them and the latents), ``embedding`` [N, 2], every row of every video it was fitted
on, one video after another, and ``rows`` [V], how many rows each has.

``umap.npz``, when the library has one (``MapEntry.umap`` names it), is a UMAP of the same
videos, laid out on landmarks (:func:`~explorer.latent.landmarks.fit_umap_with_landmarks`):
``kind`` (``"umap"``), ``embedding`` [N, 2], every row; ``landmarks`` [L], the rows UMAP
laid out itself (the others sit among their nearest landmarks); ``mean`` [R] and ``axes``
[R, D], the principal subspace it works in; its ``seed``, ``n_neighbors`` and
``min_dist``; and ``rows`` [V]. With the latents, that is a
:class:`~explorer.latent.projection.UMAPProjection`'s state.

``library.json`` names the videos both were fitted on
(:class:`~explorer.library.catalog.MapEntry`); a video done since is placed by the forward
maps (the PCA's projection; the UMAP's ``project_new`` among the landmarks) until a run
fits the map again: :func:`library_layouts`.

Memory stays bounded however large the library grows: the PCA is fitted on at most
:data:`FIT_VALUES` numbers (rows picked evenly from every video, in proportion to its
length) and the UMAP on at most :data:`LANDMARKS` rows and as many numbers; every row is
then placed a video, or a chunk of rows, at a time.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.arrays import Spec, open_npz, open_regular
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output
from explorer.latent.landmarks import fit_umap_with_landmarks
from explorer.latent.projection import (
    PRE_COMPONENTS,
    UMAP_MIN_POINTS,
    PCAProjection,
    Projection,
    UMAPProjection,
    principal_axes,
)
from explorer.library.catalog import Library, MapEntry, load_video_trajectory

MAP_FILE = "map.npz"
UMAP_FILE = "umap.npz"
FIT_VALUES = 1 << 25
"""Numbers the PCA, and the UMAP's landmarks, are fitted on, at most: 128 MB of float32."""
LANDMARKS = 50_000
"""Rows the UMAP lays out itself, at most: 20 to 80 s on a 2-core machine."""
SEED = 0
_BLOCK_ROWS = 4096
_PCA_SPECS = {
    "kind": Spec("U", ()),
    "mean": Spec("f", ("D",)),
    "components": Spec("f", (2, "D")),
    "embedding": Spec("f", ("N", 2)),
    "rows": Spec("iu", ("V",)),
}
_UMAP_SPECS = {
    "kind": Spec("U", ()),
    "embedding": Spec("f", ("N", 2)),
    "landmarks": Spec("iu", ("L",)),
    "mean": Spec("f", ("R",)),
    "axes": Spec("f", ("R", "D")),
    "seed": Spec("iu", ()),
    "n_neighbors": Spec("iu", ()),
    "min_dist": Spec("f", ()),
    "rows": Spec("iu", ("V",)),
}
_PARAMS = ("seed", "n_neighbors", "min_dist")


@dataclass(frozen=True)
class SharedMap:
    mean: np.ndarray
    """[D] float64."""
    components: np.ndarray
    """[2, D] float64, orthonormal rows."""
    embedding: np.ndarray
    """[N, 2] float32: the rows of the videos it was fitted on, one video after another."""
    rows: np.ndarray
    """[V] int64: rows of each of those videos."""

    def embed(self, latents: np.ndarray) -> np.ndarray:
        """Latents [M, ...] as [M, 2] float32 points: the forward map, which places a
        video done since the fit."""
        return _points(latents, self.mean, self.components)


@dataclass(frozen=True)
class SharedUmap:
    """The library's UMAP (``umap.npz``, see the module docstring)."""

    embedding: np.ndarray
    """[N, 2] float32: every row of the videos it was fitted on, one video after another."""
    landmarks: np.ndarray
    """[L] int64, ascending: the rows UMAP laid out itself."""
    mean: np.ndarray
    """[R] float32."""
    axes: np.ndarray
    """[R, D] float32."""
    params: dict[str, Any]
    """``seed``, ``n_neighbors``, ``min_dist``: as :attr:`UMAPProjection.params`."""
    rows: np.ndarray
    """[V] int64: rows of each of those videos."""

    def projection(self, latents: np.ndarray, embedding: np.ndarray) -> UMAPProjection:
        """The UMAP of ``latents`` [M, D] at ``embedding`` [M, 2] (no fit)."""
        return UMAPProjection(latents, embedding, self.mean, self.axes, self.params)


# --- fitting --------------------------------------------------------------------------------


def refresh_map(folder: Path, library: Library, keep: bool = False) -> Library:
    """``library`` with a shared map fitted on its done videos: the one it has when that
    covers exactly them (or any it has, with ``keep``: videos done since are placed on it),
    else a new PCA (saved in ``folder``, without a UMAP), or none without videos."""
    covered = library.covered()
    entry = library.shared_map
    if entry is not None and (folder / entry.file).is_file() and \
            (keep or entry.videos == covered):
        if entry.umap is None or (folder / entry.umap).is_file():
            return library
        return _with_map(library, entry.model_copy(update={"umap": None}))
    (folder / UMAP_FILE).unlink(missing_ok=True)  # fitted on other videos
    if not covered:
        (folder / MAP_FILE).unlink(missing_ok=True)
        return _with_map(library, None)
    save_map(folder / MAP_FILE, fit_map(folder, library))
    return _with_map(library, MapEntry(kind="pca", file=MAP_FILE, videos=covered))


def refresh_umap(folder: Path, library: Library,
                 on_progress: Callable[[int, int], None] | None = None) -> Library:
    """``library`` with a UMAP beside its shared map: the one it has, else one fitted now
    (saved in ``folder``; ``on_progress(done, total)`` follows it). Unchanged when the map
    is not fitted on the done videos (kept from before), or they have too few rows."""
    entry = library.shared_map
    if entry is None or entry.umap is not None or entry.videos != library.covered():
        return library
    shared = fit_umap(folder, library, on_progress)
    if shared is None:
        return library
    save_umap(folder / UMAP_FILE, shared)
    return _with_map(library, entry.model_copy(update={"umap": UMAP_FILE}))


def _with_map(library: Library, entry: MapEntry | None) -> Library:
    return library.model_copy(update={"shared_map": entry})


def fit_map(folder: Path, library: Library) -> SharedMap:
    """A PCA of the done videos' latents (a sample of them: see the module docstring),
    and every row of them on it. Reads each trajectory twice, one at a time."""
    done = [index for index, _ in library.done()]
    total = sum(library.videos[index].rows for index in done)
    samples = []
    for index in done:
        mu = load_video_trajectory(folder, library, index).mu
        share = min(1.0, FIT_VALUES / (total * mu.shape[1]))
        count = max(1, round(len(mu) * share))
        samples.append(mu[np.unique(np.linspace(0, len(mu) - 1, count).round().astype(int))])
    mean, components = principal_axes(np.concatenate(samples), 2)
    del samples
    embeddings = [_points(load_video_trajectory(folder, library, index).mu, mean, components)
                  for index in done]
    return SharedMap(mean, components, np.concatenate(embeddings),
                     np.array([len(points) for points in embeddings], np.int64))


def fit_umap(folder: Path, library: Library,
             on_progress: Callable[[int, int], None] | None = None) -> SharedUmap | None:
    """A UMAP of the done videos' latents, laid out on landmarks spread evenly over all
    their rows, the others placed among them; None when there are fewer rows than UMAP
    needs. Same library, same layout (seeded). ``on_progress(done, total)`` hears (0, 0)
    first: numba's compile and the neighbour graph take seconds before the first epoch."""
    if sum(video.rows for _, video in library.done()) < UMAP_MIN_POINTS:
        return None
    if on_progress is not None:
        on_progress(0, 0)
    latents = _JoinedLatents(folder, library)
    landmarks = max(UMAP_MIN_POINTS, min(LANDMARKS, FIT_VALUES // latents.shape[1]))
    layout = fit_umap_with_landmarks(latents, np.arange(len(latents)), landmarks, SEED,
                                     on_progress)
    umap = layout.projection
    return SharedUmap(layout.embedding, layout.landmarks, umap.mean, umap.axes, umap.params,
                      latents.rows)


class _JoinedLatents:
    """The done videos' latents as one [N, D] array, read a video at a time when indexed
    by a slice or by ascending rows (what :func:`fit_umap_with_landmarks` asks of it), so
    that the library is never in memory at once."""

    def __init__(self, folder: Path, library: Library) -> None:
        self._folder, self._library = folder, library
        self._videos = [index for index, _ in library.done()]
        self.rows = np.array([library.videos[index].rows for index in self._videos], np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self.rows)])
        self._held = (0, self._read(0))
        self.shape = (int(self._starts[-1]), self._held[1].shape[1])

    def _read(self, position: int) -> np.ndarray:
        mu = load_video_trajectory(self._folder, self._library, self._videos[position]).mu
        return mu.reshape(len(mu), -1)

    def _video(self, position: int) -> np.ndarray:
        if self._held[0] != position:
            self._held = (position, self._read(position))
        return self._held[1]

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self[:]

    def __getitem__(self, rows: slice | np.ndarray) -> np.ndarray:
        if isinstance(rows, slice):
            rows = np.arange(*rows.indices(len(self)))
        owners = np.searchsorted(self._starts, rows, side="right") - 1
        bounds = [0, *(np.flatnonzero(np.diff(owners)) + 1), len(rows)]
        parts = [self._video(owners[start])[rows[start:stop] - self._starts[owners[start]]]
                 for start, stop in itertools.pairwise(bounds) if stop > start]
        return np.concatenate(parts) if parts else np.empty((0, self.shape[1]), np.float32)


def _points(latents: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """[M, 2] float32 coordinates of latents [M, ...], a block of rows at a time."""
    flat = np.asarray(latents).reshape(len(latents), -1)
    blocks = [(flat[start:start + _BLOCK_ROWS] - mean) @ components.T
              for start in range(0, max(len(flat), 1), _BLOCK_ROWS)]
    return np.concatenate(blocks).astype(np.float32)


def save_map(path: Path, shared: SharedMap) -> None:
    with atomic_output(path) as temp, open(temp, "wb") as handle:
        np.savez(handle, kind=np.array("pca"), mean=shared.mean, components=shared.components,
                 embedding=shared.embedding, rows=shared.rows)


def save_umap(path: Path, shared: SharedUmap) -> None:
    with atomic_output(path) as temp, open(temp, "wb") as handle:
        np.savez(handle, kind=np.array("umap"), embedding=shared.embedding,
                 landmarks=shared.landmarks, mean=shared.mean, axes=shared.axes,
                 rows=shared.rows, **{name: np.array(shared.params[name]) for name in _PARAMS})


# --- reading --------------------------------------------------------------------------------


def load_map(folder: str | os.PathLike[str], library: Library) -> SharedMap:
    """The library's shared map, checked against ``library.json`` before it is read: a
    PCA of the latents' width, a point for every row of the videos it names."""
    entry = _entry(folder, library)
    _, _, arrays = _read(Path(folder) / entry.file, library, _PCA_SPECS, "pca")
    return SharedMap(arrays["mean"].astype(np.float64), arrays["components"].astype(np.float64),
                     arrays["embedding"].astype(np.float32), arrays["rows"].astype(np.int64))


def load_umap(folder: str | os.PathLike[str], library: Library) -> SharedUmap:
    """The library's UMAP, checked like :func:`load_map`, and its landmarks (ascending
    rows of its points) and parameters too."""
    entry = _entry(folder, library)
    if entry.umap is None:
        raise ExplorerError(f"{folder} has no UMAP yet: encode into it without --no-umap")
    file, sizes, arrays = _read(Path(folder) / entry.umap, library, _UMAP_SPECS, "umap")
    landmarks = arrays["landmarks"].astype(np.int64)
    if not sizes["L"] or (np.diff(landmarks) <= 0).any() or landmarks[0] < 0 or \
            landmarks[-1] >= sizes["N"]:
        raise ExplorerError(f"{file}: landmarks: must be ascending rows of the "
                            f"{sizes['N']} points")
    if not 1 <= sizes["R"] <= min(sizes["D"], PRE_COMPONENTS):
        raise ExplorerError(f"{file}: axes: {sizes['R']} of them; expected 1 to "
                            f"{min(sizes['D'], PRE_COMPONENTS)}")
    params = {name: arrays[name].item() for name in _PARAMS}
    if not 0 <= params["seed"] < 1 << 32 or not 1 <= params["n_neighbors"] <= sizes["N"] \
            or params["min_dist"] < 0:
        raise ExplorerError(f"{file}: seed, n_neighbors or min_dist out of range")
    return SharedUmap(arrays["embedding"].astype(np.float32), landmarks,
                      arrays["mean"].astype(np.float32), arrays["axes"].astype(np.float32),
                      params, arrays["rows"].astype(np.int64))


def _entry(folder: str | os.PathLike[str], library: Library) -> MapEntry:
    if library.shared_map is None:
        raise ExplorerError(f"{folder} has no shared map yet: encode a video into it")
    return library.shared_map


def _read(path: Path, library: Library, specs: dict[str, Spec],
          kind: str) -> tuple[Path, dict[str, int], dict[str, np.ndarray]]:
    """A map file's arrays by name, once its headers match ``specs`` and ``library.json``
    (its kind, a latent of the library's width, a point for every row of the videos the
    map names) and its numbers are finite; with the sizes named in ``specs``."""
    what = "shared map"
    file, stream = open_regular(path, what)
    with stream, open_npz(stream, os.fstat(stream.fileno()).st_size, str(file), what) as npz:
        unknown = sorted(set(npz.headers) - set(specs))
        if unknown:
            raise ExplorerError(f"{file}: {unknown[0]}: not an array of a {what}")
        sizes = npz.check(specs, {"V": len(library.shared_map.videos)})
        if npz.read_text("kind") != kind:
            raise ExplorerError(f"{file}: kind: not {kind!r}, as library.json says")
        arrays = {name: npz.read(name) for name in specs if name != "kind"}
    shape = library.model.latent_shape
    if shape is not None and math.prod(shape) != sizes["D"]:
        wide = next(name for name, spec in specs.items() if "D" in spec.shape)
        raise ExplorerError(f"{file}: {wide}: {sizes['D']} numbers, but the library's latents "
                            f"have {math.prod(shape)}")
    rows = arrays["rows"]
    if (rows < 1).any() or int(rows.sum()) != sizes["N"]:
        raise ExplorerError(f"{file}: rows: must be positive and add up to the "
                            f"{sizes['N']} points of the embedding")
    for name, spec in specs.items():
        if spec.kinds == "f" and not np.isfinite(arrays[name]).all():
            raise ExplorerError(f"{file}: {name}: holds NaN or infinite values")
    return file, sizes, arrays


# --- the window's layouts -------------------------------------------------------------------


def library_layouts(folder: Path, library: Library, mu: np.ndarray,
                    videos: list[int]) -> dict[str, Projection]:
    """Layouts for the library's joined trajectory: ``videos`` are library indices of the
    done videos in library order (as :func:`~explorer.library.joined.join_library` joins
    them), ``mu`` [N, D] their rows concatenated in that order. Returns ``{"pca": ...,
    "umap": ...}`` (``"umap"`` only when the library has one, and two of its landmarks
    remain to place any video done since): projections whose ``embedding`` follows mu's rows, and
    whose ``state()`` :func:`~explorer.latent.projection.projection_from_state` restores
    with ``mu``. Nothing is fitted: a video the map covers takes its stored points, one
    done since is placed by the forward map (PCA: linear; UMAP: ``project_new`` among the
    landmarks that remain)."""
    shared = load_map(folder, library)
    flat = np.asarray(mu).reshape(len(mu), -1)
    spans = _spans(library, videos, len(flat))
    stored = _stored_positions(library, videos, shared.rows)
    layouts: dict[str, Projection] = {
        "pca": PCAProjection(flat, shared.mean, shared.components),
    }
    if library.shared_map.umap is not None:
        umap = load_umap(folder, library)
        if not np.array_equal(umap.rows, shared.rows):
            raise ExplorerError(f"{Path(folder) / library.shared_map.umap}: rows: not those "
                                f"of {library.shared_map.file}; encode the library again")
        layout = _umap_layout(umap, flat, spans, stored)
        if layout is not None:
            layouts["umap"] = layout
    return layouts


def _spans(library: Library, videos: list[int], count: int) -> list[tuple[int, int]]:
    """The rows ``[start, stop)`` of each of ``videos`` in the joined latents (``count``)."""
    spans, start = [], 0
    for index in videos:
        video = library.videos[index]
        if video.status != "done":
            raise ExplorerError(f"video {index} ({video.name}) of the library is not done: "
                                "it has no rows to lay out")
        spans.append((start, start + video.rows))
        start += video.rows
    if start != count:
        raise ExplorerError(f"the library's videos have {start:,} rows, but {count:,} latents "
                            "were given to lay out")
    return spans


def _stored_positions(library: Library, videos: list[int],
                      rows: np.ndarray) -> list[int | None]:
    """For each of ``videos``, its place among the videos the map covers; None for one
    done since (or changed since: another fingerprint)."""
    where = {(covered.trajectory, covered.fingerprint): position
             for position, covered in enumerate(library.shared_map.videos)}
    positions = []
    for index in videos:
        video = library.videos[index]
        position = where.get((video.trajectory, video.fingerprint))
        if position is not None and rows[position] != video.rows:
            raise ExplorerError(f"the shared map has {rows[position]} rows for video {index} "
                                f"({video.name}), which has {video.rows}; encode the library "
                                "again")
        positions.append(position)
    return positions


def _umap_layout(umap: SharedUmap, flat: np.ndarray, spans: list[tuple[int, int]],
                 stored: list[int | None]) -> UMAPProjection | None:
    """The UMAP of the joined latents ``flat``: stored points for the videos it covers,
    the others placed among the landmarks of those; None when too few of them remain to
    place any (``project_new`` blends two at least)."""
    starts = np.concatenate([[0], np.cumsum(umap.rows)])
    embedding = np.empty((len(flat), 2), np.float32)
    landmarks, placed = [], []
    for (start, stop), position in zip(spans, stored, strict=True):
        if position is None:
            placed.append(np.arange(start, stop))
            continue
        first = starts[position]
        embedding[start:stop] = umap.embedding[first:first + stop - start]
        own = umap.landmarks[(umap.landmarks >= first) & (umap.landmarks < first + stop - start)]
        landmarks.append(own - first + start)
    if placed:
        rows = np.concatenate(placed)
        near = np.concatenate(landmarks) if landmarks else np.empty(0, np.int64)
        if len(near) < 2:
            return None
        embedding[rows] = umap.projection(flat[near], embedding[near]).project_new(flat[rows])
    return umap.projection(flat, embedding)
