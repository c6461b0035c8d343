"""2-D views of a latent trajectory, and maps back from the view to latents.

Two projections share one interface (:class:`Projection`):

- PCA: instant. ``embed`` is linear; ``inverse`` is exact for the two shown components.
- UMAP: a slow fit (seconds to a minute; run it off the UI thread), reproducible for a
  fixed seed. umap-learn is imported only when a UMAP is fitted.

For both, ``inverse(embedding[i])`` is exactly the trajectory's latent ``i`` and the
inverse is continuous and answers in microseconds, so it can follow a drag
(:class:`~explorer.latent.inverse.BarycentricInverse`). UMAP's own ``inverse_transform``
and ``transform`` (seconds a call) are offered only as refinements to run after the
mouse is released. Latents come in as [N, *latent_shape]; latents come out flat, [M, D]
float32 (reshape with ``Trajectory.latent_shape``).

A fitted projection saves as plain arrays and scalars (``state()``) and comes back with
:func:`projection_from_state` and the trajectory's latents, so files need no pickles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np
from scipy.spatial import cKDTree

from explorer.errors import Cancelled, ExplorerError
from explorer.latent.inverse import SurfaceBuild
from explorer.latent.nearest import NearestRows

State = dict[str, np.ndarray | str | int | float]

# Up to this many rows or columns the principal axes come from an exact SVD; above it,
# from a seeded randomized SVD (Halko et al.), which is fast on 10,000 × 16,384 latents.
_EXACT_SVD = 512
# Above this many rows (and at most _EXACT_SVD columns) the axes come from the D × D
# covariance, accumulated a block of rows at a time: an SVD of a million 16-d latents
# takes 2.3–2.7 s and a float64 copy of them (490 MB above its input at its peak), the
# covariance 0.15 s and nothing.
_COVARIANCE_ROWS = 100_000
# UMAP works on at most this many principal components of the latents.
PRE_COMPONENTS = 50
UMAP_MIN_POINTS = 5
# Neighbours that place a new latent on a UMAP layout.
_NEIGHBOURS = 8
# Elements in one block of projected rows: bounds memory.
_BLOCK = 1 << 22


class Projection(Protocol):
    """What the map view needs from a fitted projection."""

    kind: str
    embedding: np.ndarray
    """[N, 2] float32: the fitted trajectory's points."""

    def embed(self, latents: np.ndarray) -> np.ndarray:
        """[N, *shape] latents to [N, 2] float32 points; ``embedding`` for the fitted ones."""
        ...

    def project_new(self, latents: np.ndarray) -> np.ndarray:
        """Fast [M, 2] float32 points for latents not in the fit (e.g. an interpolation)."""
        ...

    def inverse(self, points: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """[M, 2] points to [M, D] float32 latents, continuous and fast enough for a drag.

        ``inverse(embedding[i])`` is exactly latent ``i``; with ``base`` (the latent being
        dragged), ``inverse(project_new(base), base)`` is exactly ``base``.
        """
        ...

    def state(self) -> State:
        """Arrays and JSON-able scalars that :func:`projection_from_state` restores."""
        ...


def fit_projection(kind: str, latents: np.ndarray, **options: Any) -> Projection:
    """Fit a ``"pca"`` or ``"umap"`` projection (options go to ``UMAPProjection.fit``)."""
    if kind == "pca":
        return PCAProjection.fit(latents)
    if kind == "umap":
        return UMAPProjection.fit(latents, **options)
    raise ValueError(f"unknown projection kind {kind!r}")


def projection_from_state(state: Mapping[str, Any], latents: np.ndarray) -> Projection:
    """Rebuild a projection from ``state()`` (values may be 0-d arrays, as ``np.load`` gives)."""
    kind = _scalar(state["kind"])
    if kind == "pca":
        return PCAProjection.from_state(state, latents)
    if kind == "umap":
        return UMAPProjection.from_state(state, latents)
    raise ExplorerError(f"unknown projection kind {kind!r} in the saved state")


def settled(projection: Projection) -> Projection:
    """``projection`` once the index it builds on a thread for placing new latents is
    ready. For a thread that hands a projection to the window: until then, placing the
    probe compares it with every row, 10–60 ms of the GUI thread at a million."""
    if isinstance(projection, UMAPProjection):
        projection.searchable.wait()
    return projection


def variance_explained(projection: Projection, latents: np.ndarray,
                       block: int = 4096) -> np.ndarray | None:
    """For a PCA layout, the share of the latents' total variance along each map axis;
    None for layouts whose axes are not directions (UMAP). A PCA layout knows its own
    latents' shares (:attr:`PCAProjection.variance`, read when it was made, on the
    worker): other latents are read in blocks of rows, so a long video's latents are
    never copied whole."""
    if not isinstance(projection, PCAProjection):
        return None
    flat = _flat(latents)
    if _same_array(flat, projection.latents):
        total = projection.variance
    else:
        total = total_variance(flat, block)
    along = projection.axis_variance
    return along / total if total > 0 else np.zeros_like(along)


def total_variance(flat: np.ndarray, block: int = 4096) -> float:
    """The sum of the variances of the columns of ``flat`` [N, D], in float64, read
    ``block`` rows at a time."""
    total, sums, squares = len(flat), np.zeros(flat.shape[1]), np.zeros(flat.shape[1])
    for start in range(0, total, block):
        rows = flat[start:start + block].astype(np.float64)
        sums += rows.sum(axis=0)
        squares += np.square(rows).sum(axis=0)
    return float(np.sum(squares / total - np.square(sums / total)))


def _same_array(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two arrays are views of the same numbers in the same layout."""
    return (first.shape == second.shape and first.dtype == second.dtype
            and first.strides == second.strides
            and first.__array_interface__["data"][0] == second.__array_interface__["data"][0])


def projection_meta(projection: Projection) -> dict[str, Any]:
    """What a trajectory's ``meta["projection"]`` records of its layout: the kind and, for
    UMAP, the parameters (seed, neighbours, distance) that lay it out again."""
    params = projection.params if isinstance(projection, UMAPProjection) else {}
    return {"kind": projection.kind, **params}


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.ndarray) else value


def _flat(latents: np.ndarray) -> np.ndarray:
    latents = np.asarray(latents)
    return latents.reshape(len(latents), math.prod(latents.shape[1:]))


def _rows(latents: np.ndarray, width: int) -> np.ndarray:
    """One latent (any shape) or several, as float64 rows [M, width]."""
    return np.asarray(latents, np.float64).reshape(-1, width)


def principal_axes(flat: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and the top ``count`` principal directions [count, D] (float64).

    Directions without variance are zero rows. Signs are fixed (largest loading positive)
    so the same latents always give the same picture.
    """
    mean = flat.mean(axis=0, dtype=np.float64)
    if len(flat) > _COVARIANCE_ROWS and flat.shape[1] <= _EXACT_SVD:
        singular, vt = _covariance_svd(flat, mean)
    elif min(flat.shape) <= _EXACT_SVD:
        centred = flat.astype(np.float64) - mean
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    else:  # float32 work halves the memory of large latents; plenty for directions
        centred = flat.astype(np.float32) - mean.astype(np.float32)
        singular, vt = _randomized_svd(centred, count)
    rank = int(np.sum(singular[:count] > 1e-12 * singular.max(initial=0.0)))
    axes = np.zeros((count, flat.shape[1]))
    axes[:rank] = vt[:rank]
    signs = np.sign(axes[np.arange(count), np.abs(axes).argmax(axis=1)])
    return mean, axes * np.where(signs == 0, 1.0, signs)[:, None]


def _covariance_svd(flat: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centred latents' singular values and right singular vectors (rows), from the
    eigenvectors of their D × D scatter matrix, summed in float64 a block of rows at a
    time: memory proportional to a block, not to N × D.

    Eigenvalues below the matrix's rounding (D·ε of the largest) count as zero: the
    square roots of rounding errors would otherwise pass for singular values.
    """
    block = max(1, _BLOCK // flat.shape[1])
    scatter = np.zeros((flat.shape[1], flat.shape[1]))
    for start in range(0, len(flat), block):
        centred = flat[start : start + block].astype(np.float64) - mean
        scatter += centred.T @ centred
    eigenvalues, vectors = np.linalg.eigh(scatter)  # ascending
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]
    floor = len(eigenvalues) * np.finfo(np.float64).eps * max(eigenvalues[0], 0.0)
    return np.sqrt(np.where(eigenvalues > floor, eigenvalues, 0.0)), vectors.T


def _randomized_svd(centred: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    sketch = centred @ rng.standard_normal((centred.shape[1], count + 10)).astype(centred.dtype)
    for _ in range(4):  # power iterations sharpen a slowly decaying spectrum
        sketch = centred @ (centred.T @ np.linalg.qr(sketch)[0])
    basis = np.linalg.qr(sketch)[0]
    _, singular, vt = np.linalg.svd((basis.T @ centred).astype(np.float64), full_matrices=False)
    return singular, vt


class PCAProjection:
    """The two leading principal components: instant, and exactly invertible in its plane."""

    kind = "pca"

    def __init__(self, latents: np.ndarray, mean: np.ndarray, components: np.ndarray) -> None:
        self.latents = _flat(latents)
        self.mean = np.asarray(mean, np.float64)
        self.components = np.asarray(components, np.float64)  # [2, D], orthonormal rows
        self.embedding = self.embed(self.latents)
        # what the axes' labels show, read here (on the worker that makes a projection)
        # rather than by the window, which would read a million latents on its GUI thread
        self.variance = total_variance(self.latents)
        """The latents' total variance."""
        self.axis_variance = np.array([np.var(axis, dtype=np.float64)  # a column at a
                                       for axis in self.embedding.T])  # time: 10× faster
        """[2]: the variance along each map axis."""
        self._surface = SurfaceBuild(self.embedding, self.latents)

    @classmethod
    def fit(cls, latents: np.ndarray) -> PCAProjection:
        flat = _flat(latents)
        return cls(flat, *principal_axes(flat, 2))

    def embed(self, latents: np.ndarray) -> np.ndarray:
        return _coordinates(_flat(latents), self.mean, self.components).astype(np.float32)

    project_new = embed

    def inverse(self, points: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Latents [M, D] float32 whose two shown components are exactly ``points``.

        Without ``base`` the other components are blended from the trajectory's latents
        around the point (so a frame's own point gives exactly that frame's latent). With
        ``base`` (e.g. the latent being dragged), they are kept from ``base``:
        ``z = base + (p - embed(base)) @ components``. A long trajectory's blend is built
        on a thread (:class:`~explorer.latent.inverse.SurfaceBuild`); until it is ready the
        other components are the mean's.
        """
        points = np.asarray(points, np.float64).reshape(-1, 2)
        if base is not None:
            base = _rows(base, self.mean.size)
            moved = base + (points - self.embed(base)) @ self.components
            return moved.astype(np.float32)
        surface = self._surface.result()
        if surface is None:  # a long trajectory's, still being built: the plain inverse
            return (self.mean + points @ self.components).astype(np.float32)
        index, weight = surface.locate(points)
        blended = surface.blend(index, weight).astype(np.float64)
        beyond = points - surface.clamp(index, weight)  # zero inside the hull
        return (blended + beyond @ self.components).astype(np.float32)

    def state(self) -> State:
        return {"kind": self.kind, "mean": self.mean, "components": self.components}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], latents: np.ndarray) -> PCAProjection:
        return cls(latents, np.asarray(state["mean"]), np.asarray(state["components"]))


class _EpochReport:
    """A file for umap's tqdm epoch bar: reports ``done, total`` and stops when asked.

    umap-learn has no progress callback, but it passes ``tqdm_kwds`` to the bar of its
    layout loop; with ``bar_format="{n}/{total}"`` every refresh writes "n/total" here.
    """

    def __init__(
        self,
        on_progress: Callable[[int, int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self._on_progress = on_progress
        self._should_stop = should_stop
        self._stopped = False

    def write(self, text: str) -> None:
        if self._stopped:
            return
        if self._should_stop is not None and self._should_stop():
            self._stopped = True
            raise Cancelled("UMAP layout cancelled")
        counts = re.search(r"(\d+)/(\d+)", text)
        if counts and self._on_progress is not None:
            self._on_progress(int(counts[1]), int(counts[2]))

    def flush(self) -> None:
        pass


class UMAPProjection:
    """A UMAP layout with a fast, exact-at-the-data inverse and forward map.

    The latents are first reduced to their top ``pre_components`` principal components
    (when they have more); UMAP, its refinements and the neighbour search for
    ``project_new`` work in that space, while ``inverse`` blends the full latents.
    """

    kind = "umap"

    def __init__(
        self,
        latents: np.ndarray,
        embedding: np.ndarray,
        mean: np.ndarray,
        axes: np.ndarray,
        params: Mapping[str, Any],
        model: Any = None,
    ) -> None:
        self.latents = _flat(latents)
        self.embedding = np.asarray(embedding, np.float32)
        if len(self.embedding) != len(self.latents):
            raise ExplorerError(
                f"the UMAP layout has {len(self.embedding)} points "
                f"but the trajectory has {len(self.latents)} frames"
            )
        self.mean = np.asarray(mean, np.float32)
        self.axes = np.asarray(axes, np.float32)  # [r, D]; the identity when D <= r
        self.params = dict(params)
        self._model = model
        # Searched among the latents themselves where UMAP saw them whole (the axes are
        # the identity: distances are the same about any mean), else among float32
        # coordinates: a centred copy of a million 16-d latents was 64 MB more memory.
        self._whole = (self.latents.dtype == np.float32
                       and np.array_equal(self.axes, np.eye(len(self.axes))))
        self._neighbours = NearestRows(
            self.latents if self._whole
            else _coordinates(self.latents, self.mean, self.axes, np.float32))
        self.searchable = self._neighbours.indexed
        """Set once :meth:`project_new` searches an index, not every row."""
        self._surface = SurfaceBuild(self.embedding, self.latents)
        self._points: cKDTree | None = None  # the layout's points, until the surface is built

    @classmethod
    def fit(
        cls,
        latents: np.ndarray,
        seed: int = 0,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        pre_components: int = PRE_COMPONENTS,
        on_progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        init: str = "spectral",
    ) -> UMAPProjection:
        """Fit UMAP (slow: call it on a worker thread). Same seed, same layout.

        ``on_progress(epoch, epochs)`` follows the layout optimisation and ``should_stop``
        is polled with it (raising :class:`Cancelled`); the neighbour-graph stage before
        it cannot be interrupted. A seed makes umap-learn run single-threaded.

        ``init`` is umap-learn's starting layout. Its default, ``"spectral"``, solves for
        eigenvectors of the neighbour graph, which on a slowly moving video's chain-like
        graph takes most of the fit and grows fast (48 of 58 s at 10,000 frames here);
        ``"pca"`` starts from the principal plane in a fraction of a second.
        """
        flat = _flat(latents)
        if len(flat) < UMAP_MIN_POINTS:
            raise ExplorerError(
                f"UMAP needs at least {UMAP_MIN_POINTS} frames (this trajectory has "
                f"{len(flat)}); use PCA"
            )
        if flat.shape[1] > pre_components:
            mean, axes = principal_axes(flat, pre_components)
        else:
            mean, axes = flat.mean(axis=0, dtype=np.float64), np.eye(flat.shape[1])
        # float32 is the saved precision; fit and restore both compute from it
        mean, axes = mean.astype(np.float32), axes.astype(np.float32)
        params = {
            "seed": int(seed),
            "n_neighbors": int(min(n_neighbors, len(flat) - 1)),
            "min_dist": float(min_dist),
        }
        if should_stop is not None and should_stop():
            raise Cancelled("UMAP layout cancelled")
        reduced = _coordinates(flat, mean, axes)
        model = _fit_umap(
            reduced.astype(np.float32), params, _EpochReport(on_progress, should_stop), init
        )
        if not np.isfinite(model.embedding_).all():
            raise ExplorerError("UMAP could not place every frame; try more neighbours")
        return cls(flat, model.embedding_, mean, axes, params, model)

    def _reduce(self, flat: np.ndarray) -> np.ndarray:
        """Coordinates [M, r] in the principal subspace that UMAP was fitted in."""
        return _coordinates(flat, self.mean, self.axes)

    def reduce(self, latents: np.ndarray) -> np.ndarray:
        """Coordinates [M, r] (float64, r ≤ ``PRE_COMPONENTS``) of latents [M, *shape] in
        that subspace: where neighbour searches among latents are cheap."""
        return self._reduce(_flat(latents))

    def embed(self, latents: np.ndarray) -> np.ndarray:
        """Same as :meth:`project_new`; exactly ``embedding`` for the fitted latents."""
        return self.project_new(latents)

    def project_new(self, latents: np.ndarray) -> np.ndarray:
        """Place latents [M, *shape] on the layout: a blend of their nearest fitted points.

        Modified Shepard weights ``((R - d) / (R d))²`` over the nearest neighbours (R: the
        distance of the next one) make the map continuous and exact at the fitted latents.
        Approximate elsewhere; :meth:`refine_embed` asks umap-learn instead.
        """
        flat = _flat(latents)
        count = min(_NEIGHBOURS + 1, len(self.latents))
        index, distance = self._neighbours.query(flat if self._whole else self._reduce(flat),
                                                 count)
        radius, near, distance = distance[:, -1:], index[:, :-1], distance[:, :-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = (np.clip(radius - distance, 0.0, None) / (radius * distance)) ** 2
        same = (self.latents[index[:, 0]] == flat).all(axis=1)
        snap = same | ~np.isfinite(weight).all(axis=1) | (weight.sum(axis=1) == 0)
        weight[snap] = 0.0
        weight[snap, 0] = 1.0
        weight /= weight.sum(axis=1, keepdims=True)
        points = np.einsum("mk,mkj->mj", weight, self.embedding[near].astype(np.float64))
        return points.astype(np.float32)

    def inverse(self, points: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """Latents [M, D] float32 at 2-D ``points``: the barycentric blend of the trajectory.

        With ``base``, the blend is shifted by base's own offset from it,
        ``base - inverse(project_new(base))``: zero for a trajectory latent, and for any
        other latent (a keyframe off the trajectory) the inverse at its own point is
        exactly ``base``.
        """
        blended = self._fast_inverse(points)
        if base is None:
            return blended
        base = _rows(base, self.latents.shape[1])
        offset = base - self._fast_inverse(self.project_new(base))
        return (blended + offset).astype(np.float32)

    def _fast_inverse(self, points: np.ndarray) -> np.ndarray:
        """The barycentric blend; until a long trajectory's is built, the latent of the
        nearest point of the layout."""
        surface = self._surface.result()
        if surface is not None:
            return surface(points)
        if self._points is None:
            self._points = cKDTree(self.embedding)
        nearest = self._points.query(np.asarray(points, np.float64).reshape(-1, 2))[1]
        return self.latents[nearest].astype(np.float32)

    @property
    def can_refine(self) -> bool:
        """Whether umap-learn's model is at hand (not after :func:`projection_from_state`)."""
        return self._model is not None

    def refine_inverse(self, points: np.ndarray) -> np.ndarray:
        """umap-learn's ``inverse_transform`` (seconds a call): after a release only.

        It replaces the fast inverse's principal-subspace part where it can: inside the
        layout's hull, away from the frames' own points (which stay exact) and only while
        :attr:`can_refine`. Elsewhere the fast inverse is returned.
        """
        points = np.asarray(points, np.float64).reshape(-1, 2)
        surface = self._surface.result()
        if surface is None:
            return self._fast_inverse(points)
        index, weight = surface.locate(points)
        latents = surface.blend(index, weight)
        rows = surface.contains(points) & (weight.max(axis=1) < 1.0)
        if self.can_refine and rows.any():
            refined = self._model.inverse_transform(points[rows].astype(np.float32))
            fast = latents[rows]
            correction = (refined - self._reduce(fast)) @ self.axes.astype(np.float64)
            latents[rows] = (fast + correction).astype(np.float32)
        return latents

    def refine_embed(self, latents: np.ndarray) -> np.ndarray:
        """umap-learn's ``transform`` of new latents (slow); :meth:`project_new` without it."""
        if not self.can_refine:
            return self.project_new(latents)
        reduced = self._reduce(_flat(latents)).astype(np.float32)
        return self._model.transform(reduced).astype(np.float32)

    def state(self) -> State:
        return {
            "kind": self.kind,
            "embedding": self.embedding,
            "mean": self.mean,
            "axes": self.axes,
            **self.params,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], latents: np.ndarray) -> UMAPProjection:
        params = {name: _scalar(state[name]) for name in ("seed", "n_neighbors", "min_dist")}
        return cls(latents, state["embedding"], state["mean"], state["axes"], params)


def _coordinates(flat: np.ndarray, mean: np.ndarray, axes: np.ndarray,
                 dtype: type = np.float64) -> np.ndarray:
    """Coordinates [M, r] (``dtype``) of flat latents along ``axes`` [r, D] about ``mean``.

    Computed in the precision of ``mean`` and ``axes``, a block of rows at a time, so that
    10,000 large latents are never copied whole, and written into the result block by
    block: no call holds the GIL for the whole of a million latents (a UMAP layout is
    rebuilt on a thread while the window draws).
    """
    block = max(1, _BLOCK // flat.shape[1])
    coordinates = np.empty((len(flat), len(axes)), dtype)
    for start in range(0, len(flat), block):
        rows = flat[start : start + block]
        coordinates[start : start + len(rows)] = (rows.astype(mean.dtype) - mean) @ axes.T
    return coordinates


def _fit_umap(reduced: np.ndarray, params: Mapping[str, Any], report: _EpochReport,
              init: str) -> Any:
    import numba
    import umap

    threads = numba.get_num_threads()
    model = umap.UMAP(
        n_components=2,
        n_neighbors=params["n_neighbors"],
        min_dist=params["min_dist"],
        random_state=params["seed"],
        transform_seed=params["seed"],
        init=init,
        n_jobs=1,  # what a seed implies anyway; saying so avoids umap's warning
        tqdm_kwds={"disable": False, "file": report, "bar_format": "{n}/{total}"},
    )
    try:
        return model.fit(reduced)
    finally:
        numba.set_num_threads(threads)  # umap leaves it at n_jobs when the fit raises
