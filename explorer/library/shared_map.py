"""The library's shared map: one PCA fitted on every video's latents, so that all the
videos lie on one map, which the window opens without fitting anything.

``map.npz`` (plain arrays, no pickles) holds ``kind`` (``"pca"``), ``mean`` [D] and
``components`` [2, D] (what :meth:`~explorer.latent.projection.PCAProjection.state`
saves: :func:`~explorer.latent.projection.projection_from_state` restores the projection
from them and the latents), ``embedding`` [N, 2], every row of every video it was fitted
on, one video after another, and ``rows`` [V], how many rows each has. ``library.json``
names those videos (:class:`~explorer.library.catalog.MapEntry`); a video done since is
placed by the forward map (:meth:`SharedMap.embed`) until a run fits the map again.

The fit reads at most :data:`FIT_VALUES` numbers: rows picked evenly from every video, in
proportion to its length, so memory stays bounded however large the library grows.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.arrays import Spec, open_npz, open_regular
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output
from explorer.latent.projection import principal_axes
from explorer.library.catalog import Library, MapEntry, load_video_trajectory

MAP_FILE = "map.npz"
FIT_VALUES = 1 << 25
"""Numbers the PCA is fitted on, at most: 128 MB of float32."""
_BLOCK_ROWS = 4096
_SPECS = {
    "kind": Spec("U", ()),
    "mean": Spec("f", ("D",)),
    "components": Spec("f", (2, "D")),
    "embedding": Spec("f", ("N", 2)),
    "rows": Spec("iu", ("V",)),
}


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


def refresh_map(folder: Path, library: Library) -> Library:
    """``library`` with a shared map fitted on its done videos: the one it has when that
    covers exactly them, else a new one (saved in ``folder``), or none without videos."""
    covered = library.covered()
    entry = library.shared_map
    if entry is not None and entry.videos == covered and (folder / entry.file).is_file():
        return library
    if not covered:
        (folder / MAP_FILE).unlink(missing_ok=True)
        return library.model_copy(update={"shared_map": None})
    save_map(folder / MAP_FILE, fit_map(folder, library))
    return library.model_copy(update={"shared_map": MapEntry(kind="pca", file=MAP_FILE,
                                                             videos=covered)})


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


def load_map(folder: str | os.PathLike[str], library: Library) -> SharedMap:
    """The library's shared map, checked against ``library.json`` before it is read: a
    PCA of the latents' width, a point for every row of the videos it names."""
    entry = library.shared_map
    if entry is None:
        raise ExplorerError(f"{folder} has no shared map yet: encode a video into it")
    file, stream = open_regular(Path(folder) / entry.file, "shared map")
    with stream, open_npz(stream, os.fstat(stream.fileno()).st_size, str(file),
                          "shared map") as npz:
        unknown = sorted(set(npz.headers) - set(_SPECS))
        if unknown:
            raise ExplorerError(f"{file}: {unknown[0]}: not an array of a shared map")
        sizes = npz.check(_SPECS, {"V": len(entry.videos)})
        if npz.read_text("kind") != entry.kind:
            raise ExplorerError(f"{file}: kind: not {entry.kind!r}, as library.json says")
        arrays = {name: npz.read(name) for name in _SPECS if name != "kind"}
    shape = library.model.latent_shape
    if shape is not None and math.prod(shape) != sizes["D"]:
        raise ExplorerError(f"{file}: mean: {sizes['D']} numbers, but the library's latents "
                            f"have {math.prod(shape)}")
    rows = arrays["rows"]
    if (rows < 1).any() or int(rows.sum()) != sizes["N"]:
        raise ExplorerError(f"{file}: rows: must be positive and add up to the "
                            f"{sizes['N']} points of the embedding")
    for name in ("mean", "components", "embedding"):
        if not np.isfinite(arrays[name]).all():
            raise ExplorerError(f"{file}: {name}: holds NaN or infinite values")
    return SharedMap(arrays["mean"].astype(np.float64), arrays["components"].astype(np.float64),
                     arrays["embedding"].astype(np.float32), rows.astype(np.int64))
