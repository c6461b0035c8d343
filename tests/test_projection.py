"""2-D projections and the fast inverse from the map back to latents."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from scipy.spatial import Delaunay

from explorer.errors import Cancelled, ExplorerError
from explorer.latent.inverse import BarycentricInverse
from explorer.latent.projection import (
    PCAProjection,
    UMAPProjection,
    fit_projection,
    projection_from_state,
    projection_meta,
)
from explorer.latent.trajectory import TrajectoryMeta
from explorer.schema import validate
from tests.conftest import PROJECT_ROOT


def trajectory(count: int, dim: int, seed: int = 0) -> np.ndarray:
    """Latents of a smooth random loop with a little noise, like an encoded video: [N, D]."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, count)[:, None]
    frequency, phase = rng.uniform(1, 4, (1, dim)), rng.uniform(0, 2 * np.pi, (1, dim))
    smooth = np.sin(2 * np.pi * frequency * t + phase)
    return (smooth + 0.05 * rng.standard_normal((count, dim))).astype(np.float32)


def spiral(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 20.0, count)
    points = np.column_stack([np.cos(t), np.sin(t)]) * (1 + t / 5)[:, None]
    return (points + 0.01 * rng.standard_normal((count, 2))).astype(np.float32)


def largest_jump(inverse, points: np.ndarray, step: np.ndarray) -> float:
    """Largest change of the latent over a tiny move, relative to the latents' size."""
    moved = inverse(points + step) - inverse(points - step)
    return float(np.abs(moved).max() / np.abs(inverse.values).max())


def npz_round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


# -- the fast inverse -------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["random", "spiral"])
def test_inverse_is_exact_at_every_data_point(layout: str) -> None:
    rng = np.random.default_rng(1)
    points = rng.random((500, 2)).astype(np.float32) if layout == "random" else spiral(500)
    values = rng.standard_normal((500, 16)).astype(np.float32)
    inverse = BarycentricInverse(points, values)
    assert np.array_equal(inverse(points), values)
    assert np.array_equal(inverse(points[7]), values[7:8])  # one point, as [2]


def test_inverse_batch_matches_single_queries() -> None:
    rng = np.random.default_rng(2)
    points = spiral(400)
    inverse = BarycentricInverse(points, rng.standard_normal((400, 8)).astype(np.float32))
    queries = rng.uniform(-6, 6, (50, 2))
    singles = np.concatenate([inverse(query) for query in queries])
    np.testing.assert_allclose(inverse(queries), singles, rtol=0, atol=1e-6)


def test_inverse_is_continuous_across_edges_and_outside_the_hull() -> None:
    rng = np.random.default_rng(3)
    points = rng.random((500, 2))
    inverse = BarycentricInverse(points, rng.standard_normal((500, 16)).astype(np.float32))
    tri = Delaunay(points)
    edges = np.concatenate([tri.simplices[:, [0, 1]], tri.simplices[:, [1, 2]]])
    a, b = points[edges[:, 0]], points[edges[:, 1]]
    normal = np.column_stack([a[:, 1] - b[:, 1], b[:, 0] - a[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    epsilon = 1e-10
    # across inner edges, and out of the hull across its edges
    assert largest_jump(inverse, (a + b) / 2, epsilon * normal) < 1e-4
    hull = tri.convex_hull
    a, b = points[hull[:, 0]], points[hull[:, 1]]
    outward = (a + b) / 2 - points.mean(axis=0)
    outward /= np.linalg.norm(outward, axis=1, keepdims=True)
    assert largest_jump(inverse, (a + b) / 2, epsilon * outward) < 1e-4
    # outside, where the nearest hull edge changes (past each hull corner) and far away
    corners = points[np.unique(hull)]
    away = corners - points.mean(axis=0)
    beyond = corners + 0.3 * away
    tangent = np.column_stack([-away[:, 1], away[:, 0]])
    assert largest_jump(inverse, beyond, epsilon * tangent) < 1e-4
    # at the data points themselves, in every direction
    for angle in np.linspace(0, 2 * np.pi, 8, endpoint=False):
        step = epsilon * np.array([np.cos(angle), np.sin(angle)])
        assert largest_jump(inverse, points, step) < 1e-4


def test_inverse_moves_smoothly_between_neighbouring_pixels() -> None:
    latents = trajectory(2000, 16)
    points = spiral(2000)
    inverse = BarycentricInverse(points, latents)
    axis = np.linspace(-6, 6, 400)  # a 400 × 400 view, with a margin around the layout
    grid = np.stack(np.meshgrid(axis, axis), axis=-1)
    view = inverse(grid.reshape(-1, 2)).reshape(400, 400, -1)
    span = np.abs(latents.max(axis=0) - latents.min(axis=0)).max()
    assert np.abs(np.diff(view, axis=0)).max() < 0.25 * span
    assert np.abs(np.diff(view, axis=1)).max() < 0.25 * span


@pytest.mark.parametrize(
    "points",
    [
        [[0.0, 0.0]],
        [[0.0, 0.0], [1.0, 2.0]],
        [[0.0, 0.0], [1.0, 1.0], [3.0, 3.0], [2.0, 2.0]],  # collinear, out of order
        [[0.0, 0.0], [1.0, 1e-9], [2.0, -1e-9], [3.0, 0.0]],  # collinear but for noise
        [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]],  # cocircular
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]],  # all the same point
    ],
)
def test_degenerate_layouts_stay_exact_and_continuous(points: list) -> None:
    points = np.array(points)
    values = np.random.default_rng(4).standard_normal((len(points), 5)).astype(np.float32)
    inverse = BarycentricInverse(points, values)
    _, first = np.unique(points, axis=0, return_index=True)
    assert np.array_equal(inverse(points[first]), values[first])
    line = np.linspace(-5, 5, 4001)[:, None] * [1.0, 0.7] + [0.3, 0.2]
    along = inverse(line)
    assert np.isfinite(along).all()
    assert np.abs(np.diff(along, axis=0)).max() < 0.05 * np.abs(values).max() + 1e-6


def test_duplicate_points_take_the_first_latent() -> None:
    rng = np.random.default_rng(5)
    points = rng.random((50, 2))
    points[10] = points[3]
    values = rng.standard_normal((50, 4)).astype(np.float32)
    inverse = BarycentricInverse(points, values)
    assert np.array_equal(inverse(points[[3, 10]]), values[[3, 3]])
    others = np.delete(np.arange(50), 10)
    assert np.array_equal(inverse(points[others]), values[others])


def test_inverse_refuses_mismatched_or_non_finite_input() -> None:
    with pytest.raises(ValueError):
        BarycentricInverse(np.zeros((3, 2)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        BarycentricInverse(np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros((2, 4)))


# -- PCA ---------------------------------------------------------------------------------


def test_pca_round_trip_is_exact_at_the_frames() -> None:
    latents = trajectory(300, 16).reshape(300, 4, 2, 2)
    pca = PCAProjection.fit(latents)
    flat = latents.reshape(300, -1)
    assert pca.embedding.shape == (300, 2) and pca.embedding.dtype == np.float32
    assert np.array_equal(pca.embed(latents), pca.embedding)
    assert np.array_equal(pca.inverse(pca.embed(latents)), flat)
    assert np.array_equal(pca.inverse(pca.embedding[5]), flat[5:6])


def test_pca_inverse_is_exact_for_the_shown_components() -> None:
    pca = PCAProjection.fit(trajectory(300, 16))
    rng = np.random.default_rng(6)
    inside_and_outside = rng.uniform(-3, 3, (200, 2)) * np.abs(pca.embedding).max(axis=0)
    np.testing.assert_allclose(
        pca.embed(pca.inverse(inside_and_outside)), inside_and_outside, atol=1e-4
    )


def test_pca_inverse_from_a_base_keeps_its_other_components() -> None:
    latents = trajectory(300, 16)
    pca = PCAProjection.fit(latents)
    base = latents[42] + np.random.default_rng(7).standard_normal(16).astype(np.float32)
    points = pca.embed(base[None]) + np.array([[0.5, -0.25], [2.0, 1.0]])
    moved = pca.inverse(points, base=base)
    np.testing.assert_allclose(pca.embed(moved), points, atol=1e-5)
    change = moved - base
    in_plane = change @ pca.components.T @ pca.components
    np.testing.assert_allclose(change, in_plane, atol=1e-5)  # nothing else moved
    assert np.array_equal(pca.inverse(pca.embed(base[None]), base=base), base[None])


def test_pca_is_deterministic_and_restores_from_plain_arrays() -> None:
    latents = trajectory(200, 16)
    first, second = PCAProjection.fit(latents), PCAProjection.fit(latents.copy())
    assert np.array_equal(first.embedding, second.embedding)
    restored = projection_from_state(npz_round_trip(first.state()), latents)
    assert restored.kind == "pca"
    assert np.array_equal(restored.embedding, first.embedding)
    query = np.array([[0.1, 0.2], [9.0, -9.0]])
    assert np.array_equal(restored.inverse(query), first.inverse(query))


def test_pca_of_large_latents_finds_the_leading_directions() -> None:
    latents = trajectory(600, 4 * 32 * 32).reshape(600, 4, 32, 32)  # randomized SVD
    pca = fit_projection("pca", latents)
    flat = latents.reshape(600, -1).astype(np.float64)
    exact = np.linalg.svd(flat - flat.mean(axis=0), full_matrices=False)[2][:2]
    agreement = np.abs(np.sum(exact * pca.components, axis=1))
    assert agreement.min() > 0.999
    assert np.array_equal(pca.inverse(pca.embedding[:10]), latents[:10].reshape(10, -1))


@pytest.mark.parametrize("count", [1, 2, 5])
def test_pca_of_few_or_identical_frames(count: int) -> None:
    latents = np.ones((count, 8), np.float32)
    latents[-1, 0] = 3.0
    pca = PCAProjection.fit(latents)
    assert np.isfinite(pca.embedding).all()
    assert np.array_equal(pca.inverse(pca.embedding[-1]), latents[-1:])
    assert np.isfinite(pca.inverse(np.array([[5.0, 5.0]]))).all()


# -- UMAP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def umap_latents() -> np.ndarray:
    return trajectory(300, 16, seed=8)


@pytest.fixture(scope="module")
def fitted_umap(umap_latents: np.ndarray) -> UMAPProjection:
    return UMAPProjection.fit(umap_latents, seed=3, n_neighbors=10)


def test_umap_layout_is_reproducible_for_a_seed(fitted_umap, umap_latents) -> None:
    progress: list[tuple[int, int]] = []
    again = UMAPProjection.fit(
        umap_latents,
        seed=3,
        n_neighbors=10,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert fitted_umap.embedding.shape == (300, 2)
    assert fitted_umap.embedding.dtype == np.float32
    assert np.array_equal(again.embedding, fitted_umap.embedding)
    assert progress and progress[-1][0] == progress[-1][1] > 0


def test_umap_maps_are_exact_at_the_frames(fitted_umap, umap_latents) -> None:
    assert np.array_equal(fitted_umap.inverse(fitted_umap.embedding), umap_latents)
    assert np.array_equal(fitted_umap.project_new(umap_latents), fitted_umap.embedding)
    assert np.array_equal(fitted_umap.embed(umap_latents[:3]), fitted_umap.embedding[:3])


def test_umap_places_new_latents_near_their_neighbours(fitted_umap, umap_latents) -> None:
    between = (umap_latents[100:110] + umap_latents[101:111]) / 2
    placed = fitted_umap.project_new(between)
    near = (fitted_umap.embedding[100:110] + fitted_umap.embedding[101:111]) / 2
    spread = np.ptp(fitted_umap.embedding, axis=0).max()
    assert np.linalg.norm(placed - near, axis=1).max() < 0.1 * spread


def test_umap_inverse_from_an_off_trajectory_base(fitted_umap, umap_latents) -> None:
    base = umap_latents[50] + 0.3
    at_own_point = fitted_umap.inverse(fitted_umap.project_new(base[None]), base=base)
    assert np.array_equal(at_own_point, base[None])
    frame = umap_latents[60]
    moved = fitted_umap.inverse(fitted_umap.embedding[61], base=frame)
    assert np.array_equal(moved, umap_latents[61:62])  # a frame's base adds nothing


def test_umap_refinement_keeps_the_frames_exact(fitted_umap, umap_latents) -> None:
    points = np.vstack(
        [
            fitted_umap.embedding[:1],
            fitted_umap.embedding[20:21] * 0.5 + fitted_umap.embedding[21:22] * 0.5,
        ]
    )
    refined = fitted_umap.refine_inverse(points)
    assert refined.shape == (2, 16) and np.isfinite(refined).all()
    assert np.array_equal(refined[0], umap_latents[0])


def test_umap_refined_embedding_of_new_latents(fitted_umap, umap_latents) -> None:
    placed = fitted_umap.refine_embed(umap_latents[100:103] + 0.01)
    assert placed.shape == (3, 2) and placed.dtype == np.float32
    assert np.isfinite(placed).all()


def test_umap_restores_from_plain_arrays(fitted_umap, umap_latents) -> None:
    state = npz_round_trip(fitted_umap.state())
    restored = projection_from_state(state, umap_latents)
    assert restored.kind == "umap" and not restored.can_refine
    assert np.array_equal(restored.embedding, fitted_umap.embedding)
    new = umap_latents[:20] + 0.1
    assert np.array_equal(restored.project_new(new), fitted_umap.project_new(new))
    query = np.array([[0.0, 0.0], [100.0, 100.0]])
    assert np.array_equal(restored.refine_inverse(query), fitted_umap.inverse(query))
    assert np.array_equal(restored.refine_embed(new), restored.project_new(new))
    with pytest.raises(ExplorerError):
        projection_from_state(state, umap_latents[:10])


def test_projection_meta_names_the_layout_and_what_reproduces_it(
    fitted_umap, umap_latents
) -> None:
    pca = PCAProjection.fit(umap_latents)
    assert projection_meta(pca) == {"kind": "pca"}
    restored = projection_from_state(npz_round_trip(fitted_umap.state()), umap_latents)
    for umap in (fitted_umap, restored):
        assert projection_meta(umap) == {"kind": "umap", "seed": 3, "n_neighbors": 10,
                                         "min_dist": 0.1}
    for projection in (pca, fitted_umap):  # what a trajectory file's meta accepts
        meta = {"projection": projection_meta(projection)}
        assert validate(TrajectoryMeta, meta, "meta").projection == meta["projection"]


def test_umap_pre_reduces_large_latents() -> None:
    latents = trajectory(200, 4 * 8 * 8, seed=9).reshape(200, 4, 8, 8)
    projection = fit_projection("umap", latents, seed=0, n_neighbors=8)
    assert projection.axes.shape == (50, 256)
    flat = latents.reshape(200, -1)
    assert np.array_equal(projection.inverse(projection.embedding), flat)
    assert np.array_equal(projection.project_new(latents), projection.embedding)


def test_umap_fit_can_be_cancelled(umap_latents) -> None:
    with pytest.raises(Cancelled):
        UMAPProjection.fit(umap_latents[:100], should_stop=lambda: True)
    calls: list[int] = []

    def stop_after_some_epochs() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        UMAPProjection.fit(umap_latents[:100], should_stop=stop_after_some_epochs)


def test_umap_needs_a_few_frames() -> None:
    with pytest.raises(ExplorerError, match="at least"):
        UMAPProjection.fit(np.zeros((3, 4), np.float32))


def test_importing_the_latent_package_does_not_import_umap() -> None:
    code = (
        "import sys, explorer.latent.projection, explorer.latent.inverse, "
        "explorer.latent.interpolate; assert 'umap' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True, timeout=60)


@pytest.mark.parametrize("search", ["find_simplex", "walk"])
def test_queries_find_the_triangles_scipy_finds_inside_and_outside_the_hull(search,
                                                                           monkeypatch):
    from explorer.latent import inverse
    from explorer.latent.synthetic import random_walk_trajectory

    if search == "walk":  # what a layout of more than 50,000 points does
        monkeypatch.setattr(inverse, "TRANSFORMS_UP_TO", 0)

    points = random_walk_trajectory(3000, dim=2, seed=5).mu.astype(np.float64)
    surface = BarycentricInverse(points, np.arange(len(points), dtype=np.float64)[:, None])
    rng = np.random.default_rng(2)
    low, high = points.min(axis=0), points.max(axis=0)
    queries = rng.uniform(low - 0.2 * (high - low), high + 0.2 * (high - low), (4000, 2))
    expected = Delaunay(points).find_simplex(queries) >= 0
    np.testing.assert_array_equal(surface.contains(queries), expected)
    index, weight = surface.locate(queries[expected])
    np.testing.assert_allclose(np.einsum("mk,mkj->mj", weight, points[index]),
                               queries[expected], atol=1e-9)


def test_a_single_query_walks_to_the_triangle_and_weights_a_batch_walks_to(monkeypatch):
    """A drag's one point walks in Python floats, a batch in numpy: the same walk."""
    from explorer.latent import inverse
    from explorer.latent.synthetic import random_walk_trajectory

    monkeypatch.setattr(inverse, "TRANSFORMS_UP_TO", 0)
    points = random_walk_trajectory(3000, dim=2, seed=6).mu.astype(np.float64)
    surface = BarycentricInverse(points, points)
    low, high = points.min(axis=0), points.max(axis=0)
    queries = np.random.default_rng(3).uniform(low - 0.2 * (high - low),
                                               high + 0.2 * (high - low), (1500, 2))
    queries = np.vstack([queries, points[:50], points[[0, 1]].mean(axis=0, keepdims=True)])
    batch = surface._find(queries)
    alone = [surface._find(query[None]) for query in queries]
    np.testing.assert_array_equal(np.concatenate([found for found, _ in alone]), batch[0])
    inside = batch[0] >= 0
    assert 0.2 < inside.mean() < 0.9, "queries inside and outside the hull"
    np.testing.assert_allclose(np.concatenate([weights for _, weights in alone])[inside],
                               batch[1][inside], atol=1e-12)
    np.testing.assert_allclose(np.concatenate([surface(query) for query in queries]),
                               surface(queries), atol=1e-12)


@pytest.fixture
def held_surfaces(monkeypatch):
    """Layouts above 100 points build their surface on a thread, held until ``set()``;
    returns the gate and a wait for a projection's surface."""
    from explorer.latent import inverse

    monkeypatch.setattr(inverse, "BUILD_NOW", 100)
    gate = threading.Event()
    build = inverse.SurfaceBuild._build
    monkeypatch.setattr(inverse.SurfaceBuild, "_build",
                        lambda self, *args: (gate.wait(30), build(self, *args)))

    def built(projection) -> None:
        gate.set()
        deadline = time.monotonic() + 30
        while projection._surface.result() is None and time.monotonic() < deadline:
            time.sleep(0.01)

    return built


def test_a_long_trajectorys_pca_inverse_is_plain_until_its_surface_is_built(held_surfaces):
    latents = trajectory(3000, 8)
    pca = PCAProjection.fit(latents)
    assert pca._surface.result() is None
    plain = pca.inverse(pca.embedding[7])
    np.testing.assert_allclose(pca.embed(plain), pca.embedding[7:8], atol=1e-5)
    np.testing.assert_allclose(plain, (pca.mean + pca.embedding[7].astype(np.float64)
                                       @ pca.components)[None], atol=1e-5)
    held_surfaces(pca)
    np.testing.assert_array_equal(pca.inverse(pca.embedding[7]), latents[7:8])


def test_a_long_trajectorys_umap_inverse_takes_the_nearest_point_until_built(held_surfaces):
    latents = trajectory(2000, 8)
    layout = PCAProjection.fit(latents).embedding * 2.0  # a stand-in for a UMAP layout
    umap = projection_from_state({"kind": "umap", "embedding": layout,
                                  "mean": np.zeros(8, np.float32),
                                  "axes": np.eye(8, dtype=np.float32), "seed": 0,
                                  "n_neighbors": 15, "min_dist": 0.1}, latents)
    between = (layout[10] + layout[11]) / 2
    nearest = int(np.argmin(np.linalg.norm(layout - between, axis=1)))
    np.testing.assert_array_equal(umap.inverse(between)[0], latents[nearest].astype(np.float32))
    held_surfaces(umap)
    assert not np.array_equal(umap.inverse(between)[0], latents[nearest].astype(np.float32))


def test_distinct_rows_are_the_first_of_each_place_as_numpy_unique_finds_them():
    from explorer.latent.inverse import distinct_rows

    rng = np.random.default_rng(4)
    points = np.round(rng.standard_normal((5000, 2)), 1)  # many points share a place
    points[7] = [-0.0, 0.0]
    points[8] = [0.0, -0.0]  # the same place as row 7
    _, first = np.unique(points, axis=0, return_index=True)
    np.testing.assert_array_equal(distinct_rows(points), np.sort(first))
    assert 8 not in distinct_rows(points)


def test_a_triangulation_from_a_child_process_is_the_one_made_here(monkeypatch):
    from explorer.latent import inverse

    points = np.vstack([spiral(3000), spiral(3000)[:50]]).astype(np.float64)  # 50 repeats
    here = inverse.triangulate(points)
    apart = inverse.triangulate_apart(points)
    for mine, theirs in zip(here, apart, strict=True):  # sent array by array, not pickled
        np.testing.assert_array_equal(theirs, mine)
        assert theirs.dtype == mine.dtype and theirs.flags.writeable
    assert apart.simplices.dtype == np.int32 and len(apart.keep) == 3000

    monkeypatch.setattr(inverse, "TRANSFORMS_UP_TO", 0)  # both walk, as a large layout does
    values = np.random.default_rng(1).standard_normal((len(points), 8)).astype(np.float32)
    built_here = BarycentricInverse(points, values)
    from_child = BarycentricInverse(points, values, apart)
    np.testing.assert_array_equal(built_here._simplices, from_child._simplices)
    queries = np.random.default_rng(2).uniform(-6, 6, (2000, 2))
    np.testing.assert_array_equal(from_child(queries), built_here(queries))
    np.testing.assert_array_equal(from_child(points[:100]), values[:100])


def test_a_triangulation_crosses_a_pipe_array_by_array_empty_and_missing_ones_too():
    """Not pickled: a pickle arrives as a copy of its bytes beside the arrays made from
    them (120 MB at once at a million points)."""
    import multiprocessing

    from explorer.latent import inverse
    from explorer.pipes import receive_arrays, send_arrays

    receiver, sender = multiprocessing.Pipe(duplex=False)
    sent = inverse.Triangulation(np.arange(5), np.zeros((0, 3), np.int32), None,
                                 np.arange(6, dtype=np.int32).reshape(3, 2),
                                 np.asfortranarray(np.ones((2, 2), np.int32)))
    send_arrays(sender, sent)
    received = inverse.Triangulation(*receive_arrays(receiver))
    assert received.neighbours is None
    for mine, theirs in zip(sent, received, strict=True):
        if mine is not None:
            assert theirs.shape == mine.shape and theirs.dtype == mine.dtype
            np.testing.assert_array_equal(theirs, mine)


def test_a_line_layout_from_a_child_process_is_interpolated_along_the_line():
    from explorer.latent import inverse

    points = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)])
    apart = inverse.triangulate_apart(points)
    assert apart.simplices is None
    surface = BarycentricInverse(points, np.arange(10.0)[:, None], apart)
    np.testing.assert_allclose(surface([[4.5, 9.0]]), [[4.5]])


def test_many_rows_take_principal_axes_from_the_covariance_as_the_svd_does(monkeypatch):
    from explorer.latent import projection

    latents = trajectory(3000, 16)
    latents[:, 5] = 0.25  # a direction without variance
    by_svd = projection.principal_axes(latents, 16)
    monkeypatch.setattr(projection, "_COVARIANCE_ROWS", 0)
    by_covariance = projection.principal_axes(latents, 16)
    np.testing.assert_allclose(by_covariance[0], by_svd[0])
    np.testing.assert_allclose(by_covariance[1], by_svd[1], atol=1e-6)
    assert not by_covariance[1][-1].any(), "no variance left for the last axis"

    on_a_line = np.outer(np.linspace(-1, 1, 500), np.arange(1.0, 9.0))
    _, axes = projection.principal_axes(on_a_line, 2)
    np.testing.assert_allclose(np.abs(axes[0]), np.arange(1.0, 9.0) / np.linalg.norm(
        np.arange(1.0, 9.0)), atol=1e-6)
    assert not axes[1].any(), "a rank-1 set has one direction"


def test_a_pca_layout_knows_its_own_latents_variance_shares():
    from explorer.latent.projection import total_variance, variance_explained

    latents = trajectory(2000, 12)
    pca = PCAProjection.fit(latents)
    own = variance_explained(pca, latents)
    copied = variance_explained(pca, latents.copy())  # read again, in blocks
    np.testing.assert_array_equal(own, copied)
    centred = latents.astype(np.float64) - latents.mean(axis=0, dtype=np.float64)
    np.testing.assert_allclose(pca.variance, total_variance(latents))
    np.testing.assert_allclose(own, pca.embedding.var(axis=0, dtype=np.float64)
                               / np.square(centred).sum(axis=1).mean(), rtol=1e-6)
