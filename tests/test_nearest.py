"""The exact nearest rows of a large point set (explorer.latent.nearest): the same rows,
and distances, as comparing a query with every row."""

import numpy as np
import pytest

from explorer.latent.nearest import INDEXED_FROM, NearestRows


def brute_force(points: np.ndarray, queries: np.ndarray, count: int):
    distances = np.linalg.norm(points[None].astype(np.float64) - queries[:, None], axis=2)
    order = np.argsort(distances, axis=1, kind="stable")[:, :count]
    return order, np.take_along_axis(distances, order, axis=1)


def indexed(points: np.ndarray) -> NearestRows:
    nearest = NearestRows(points)
    assert nearest.indexed.wait(60)
    return nearest


def walk(rows: int, width: int, seed: int = 5) -> np.ndarray:
    steps = np.random.default_rng(seed).standard_normal((rows, width))
    return np.cumsum(steps, axis=0).astype(np.float32)


@pytest.mark.parametrize("rows", [INDEXED_FROM // 10, INDEXED_FROM + 1000])
def test_the_nearest_rows_are_those_of_comparing_with_every_row(rows):
    rng = np.random.default_rng(5)
    points = walk(rows, 6)
    on_it = points[rng.choice(rows, 20)] + rng.normal(0, 0.3, (20, 6))
    far = points.mean(axis=0) + 1e4 * rng.standard_normal((2, 6))  # all rows equally far
    queries = np.concatenate([on_it, far, points[:3]])
    nearest = NearestRows(points)
    expected_index, expected_distance = brute_force(points, queries, 9)
    before = nearest.query(queries, 9)  # compared with every row until the tree is built
    assert nearest.indexed.wait(60)
    index, distance = nearest.query(queries, 9)
    for found in (before[1], distance):
        np.testing.assert_allclose(found, expected_distance, rtol=1e-6)
    np.testing.assert_array_equal(index[:20], expected_index[:20])
    assert (index[-3:, 0] == [0, 1, 2]).all() and (distance[-3:, 0] == 0).all()


@pytest.mark.parametrize("case", ["2-d", "3-d", "collapsed", "repeated"])
def test_neighbours_on_the_trees_own_coordinates_are_all_found(case):
    """Where the tree's three directions hold the whole distance (latents of three numbers
    or fewer, or a VAE whose other latents collapsed), the k-th neighbour sits on the
    bound itself; rows repeated (a still scene) put a query at distance 0 of many."""
    rows = INDEXED_FROM + 500
    rng = np.random.default_rng(7)
    if case == "collapsed":
        points = np.zeros((rows, 16), np.float32)
        points[:, [2, 7, 11]] = walk(rows, 3)
    elif case == "repeated":
        points = walk(rows, 8)
        points[1000:1020] = points[1000]
    else:
        points = walk(rows, int(case[0]))
    queries = np.concatenate([points[rng.choice(rows, 60)],
                              points[rng.choice(rows, 60)] + rng.normal(0, 0.5,
                                                                        points.shape[1])])
    if case == "repeated":
        queries[:5] = points[1000]
    index, distance = indexed(points).query(queries, 9)
    _, expected = brute_force(points, queries, 9)
    np.testing.assert_allclose(distance, expected, rtol=1e-6, atol=1e-9)
    if case == "repeated":
        assert (distance[:5] == 0).all() and set(index[:5].ravel()) <= set(range(1000, 1020))


def test_a_query_that_is_not_a_number_does_not_stop_the_others():
    points = walk(INDEXED_FROM + 10, 4)
    queries = np.stack([np.full(4, np.nan), points[10]])
    index, distance = indexed(points).query(queries, 3)
    assert index[1, 0] == 10 and distance[1, 0] == 0
