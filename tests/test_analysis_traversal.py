"""Traversal axes: dimensions by KL or variance with the dead ones last, principal
directions for image-shaped latents, and the grid of latents."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.render import decode_tiles, grid_image, sweep_frames
from explorer.analysis.traversal import (
    MAX_ROWS,
    dimension_axes,
    traversal_axes,
    traversal_latents,
)
from explorer.errors import ExplorerError
from explorer.latent.trajectory import Trajectory

DEAD = [2, 5]


def vae_moments(rows: int = 100, width: int = 8, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A VAE's means and log-variances whose dimensions ``DEAD`` collapsed to the prior
    (mean 0, log-variance 0) and the others carry more, the lower their number."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 1, (rows, width)) * np.linspace(2, 0.5, width)
    logvar = rng.normal(-3, 0.2, (rows, width))
    mu[:, DEAD] = rng.normal(0, 0.01, (rows, len(DEAD)))
    logvar[:, DEAD] = rng.normal(0, 0.01, (rows, len(DEAD)))
    return mu.astype(np.float32), logvar.astype(np.float32)


def trajectory(mu: np.ndarray, logvar: np.ndarray, latent_shape: list[int]) -> Trajectory:
    rows = len(mu)
    return Trajectory(mu, logvar, np.arange(rows), np.arange(rows) / 24.0,
                      meta={"latent_shape": latent_shape})


def test_dimensions_are_ordered_by_kl_and_the_dead_ones_come_last_marked():
    axes = dimension_axes(*vae_moments())
    assert axes.measure == "KL"
    assert axes.number.tolist() == [0, 1, 3, 4, 6, 7, 2, 5]
    assert axes.dead.tolist() == [False] * 6 + [True] * 2
    assert [axes.label(axis) for axis in (0, 7)] == ["z0", "z5"]
    assert np.all(np.diff(axes.importance[:6]) < 0)


def test_a_model_without_a_log_variance_is_ordered_by_variance():
    mu, _ = vae_moments()
    axes = dimension_axes(mu, np.full_like(mu, -30.0))  # what a deterministic model reports
    assert axes.measure == "variance"
    assert axes.number[-2:].tolist() == [2, 5] and axes.dead[-2:].all()
    assert not axes.dead[:-2].any()


def test_the_grid_moves_one_dimension_from_minus_k_to_plus_k_deviations():
    mu, logvar = vae_moments()
    axes = traversal_axes(trajectory(mu, logvar, [8]))
    picked = axes.pick([3, 0])
    grid = traversal_latents(axes, mu[10], picked, 5, 2.0)
    assert grid.shape == (2, 5, 8) and grid.dtype == np.float32
    expected = mu[:, 3].mean() + np.linspace(-2, 2, 5) * mu[:, 3].std()
    np.testing.assert_allclose(grid[0, :, 3], expected, rtol=1e-5)
    np.testing.assert_allclose(axes.deviations(grid[0], picked[0]), np.linspace(-2, 2, 5),
                               atol=1e-5)
    others = [d for d in range(8) if d != 3]
    np.testing.assert_array_equal(grid[0][:, others], np.repeat(mu[10:11, others], 5, 0))
    with pytest.raises(ExplorerError, match="dimension 8 does not exist: there are 8"):
        axes.pick([8])
    with pytest.raises(ExplorerError, match="2 to 61 steps"):
        traversal_latents(axes, mu[0], picked, 1, 2.0)
    with pytest.raises(ExplorerError, match=r"0\.1 to 10 standard deviations"):
        traversal_latents(axes, mu[0], picked, 5, 1e9)


def test_all_dimensions_of_a_wide_latent_are_at_most_max_rows():
    mu = np.random.default_rng(1).normal(0, 1, (20, 300)).astype(np.float32)
    axes = dimension_axes(mu, mu * 0.1)
    assert len(axes.pick()) == MAX_ROWS
    with pytest.raises(ExplorerError, match=f"at most {MAX_ROWS}"):
        axes.pick(list(range(MAX_ROWS + 1)))


def test_image_shaped_latents_are_traversed_along_principal_directions():
    rng = np.random.default_rng(2)
    strengths = np.zeros(4 * 6 * 6)
    strengths[[7, 40]] = [3.0, 1.0]  # the video moves along two numbers only
    mu = (rng.normal(0, 1, (30, strengths.size)) * strengths).astype(np.float32)
    axes = traversal_axes(trajectory(mu, np.zeros_like(mu), [4, 6, 6]))
    assert axes.kind == "principal direction" and axes.label(0) == "pc0"
    assert axes.dead.tolist() == [False, False] + [True] * 8
    assert np.argmax(np.abs(axes.directions[0])) == 7
    grid = traversal_latents(axes, mu[0], [0], 3, 1.0)
    along = axes.coordinate(grid[0], 0) / axes.spread[0]
    np.testing.assert_allclose(along, [-1, 0, 1], atol=1e-4)
    moved = np.abs(grid[0] - mu[0]).max(axis=0)
    assert moved[7] > 5 * np.delete(moved, 7).max()  # the sample correlates 7 and 40 a little


def test_grid_and_sweep_images_hold_every_tile():
    tiles = np.random.default_rng(3).integers(0, 255, (3, 4, 10, 12, 3), np.uint8)
    image = grid_image(tiles, ["z0", "z1", "z2"], np.linspace(-1, 1, 4))
    assert image.shape == (30, 48, 3)
    np.testing.assert_array_equal(image[20:30, 36:48], tiles[2, 3])  # no label there
    frames = list(sweep_frames(tiles, ["z0", "z1", "z2"], np.linspace(-1, 1, 4)))
    assert len(frames) == 6 and frames[0].shape == (20, 24, 3)  # 2 × 2 tiles, one empty
    assert not frames[0][10:, 12:].any()


def test_tiles_of_a_video_autoencoder_are_latent_steps_after_their_context(wan):
    rng = np.random.default_rng(4)
    width = int(np.prod(wan.latent_shape))
    steps = rng.normal(0, 1, (3, width)).astype(np.float32)
    done = []
    tiles = decode_tiles(wan, steps[1:], (20, 16), context=steps[:1],
                         on_progress=lambda count, total: done.append((count, total)))
    assert tiles.shape == (2, 16, 20, 3) and tiles.dtype == np.uint8
    assert done == [(1, 2), (2, 2)]
    alone = decode_tiles(wan, steps[1:2], (20, 16))  # a first step: one frame, no context
    assert not np.array_equal(alone[0], tiles[0])
