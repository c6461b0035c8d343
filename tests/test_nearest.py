"""The exact nearest rows of a large point set (explorer.latent.nearest): the same rows,
and distances, as comparing a query with every row."""

import numpy as np
import pytest

from explorer.latent.nearest import INDEXED_FROM, NearestRows


def brute_force(points: np.ndarray, queries: np.ndarray, count: int):
    distances = np.linalg.norm(points[None].astype(np.float64) - queries[:, None], axis=2)
    order = np.argsort(distances, axis=1, kind="stable")[:, :count]
    return order, np.take_along_axis(distances, order, axis=1)


@pytest.mark.parametrize("rows", [INDEXED_FROM // 10, INDEXED_FROM + 1000])
def test_the_nearest_rows_are_those_of_comparing_with_every_row(rows):
    rng = np.random.default_rng(5)
    walk = np.cumsum(rng.standard_normal((rows, 6)), axis=0).astype(np.float32)
    on_it = walk[rng.choice(rows, 20)] + rng.normal(0, 0.3, (20, 6))
    far = walk.mean(axis=0) + 1e4 * rng.standard_normal((2, 6))  # all rows equally far
    queries = np.concatenate([on_it, far, walk[:3]])
    nearest = NearestRows(walk)
    expected_index, expected_distance = brute_force(walk, queries, 9)
    before = nearest.query(queries, 9)  # compared with every row until the tree is built
    assert nearest.indexed.wait(60)
    index, distance = nearest.query(queries, 9)
    for found in (before[1], distance):
        np.testing.assert_allclose(found, expected_distance, rtol=1e-6)
    np.testing.assert_array_equal(index[:20], expected_index[:20])
    assert (index[-3:, 0] == [0, 1, 2]).all() and (distance[-3:, 0] == 0).all()
