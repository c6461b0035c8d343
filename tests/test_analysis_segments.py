"""Scenes: cuts where the latent jumps, segments between them, clusters of segments."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.segments import find_segments
from explorer.errors import ExplorerError

FPS = 24.0


def scene(rng: np.random.Generator, frames: int, width: int = 16,
          step: float = 0.05) -> np.ndarray:
    """A scene: a slow random walk about its own place in latent space."""
    return rng.normal(0, 3, width) + np.cumsum(rng.normal(0, step, (frames, width)), axis=0)


def times(rows: int) -> np.ndarray:
    return np.arange(rows) / FPS


def test_three_scenes_are_three_segments_cut_where_the_scenes_change():
    rng = np.random.default_rng(0)
    latents = np.concatenate([scene(rng, 40), scene(rng, 35), scene(rng, 45)])
    found = find_segments(latents.astype(np.float32), times(len(latents)))
    assert found.spans() == [(0, 39), (40, 74), (75, 119)]
    assert (found.segments, found.clusters) == (3, 3)
    assert found.cluster.tolist() == [0] * 40 + [1] * 35 + [2] * 45


def test_odd_frames_do_not_split_a_scene():
    """A flash (one frame) or two corrupt frames in a row jump away and come back."""
    rng = np.random.default_rng(1)
    latents = np.concatenate([scene(rng, 60), scene(rng, 60)])
    latents[15] += rng.normal(0, 4, 16)
    latents[30:32] = rng.normal(0, 4, 16)
    assert find_segments(latents, times(120)).spans() == [(0, 59), (60, 119)]


def test_a_scene_that_comes_back_is_one_cluster_and_two_segments():
    rng = np.random.default_rng(2)
    first, second = scene(rng, 40), scene(rng, 40)
    found = find_segments(np.concatenate([first, second, first[::-1]]), times(120))
    assert found.segments == 3 and found.clusters == 2
    assert found.cluster[0] == found.cluster[-1] != found.cluster[60]


def test_motion_without_a_cut_is_one_scene():
    """A burst of fast motion makes several long steps in a row, not one jump; a smooth
    loop has no cut at all."""
    rng = np.random.default_rng(3)
    latents = scene(rng, 100)
    latents[50:] += np.cumsum(np.full((50, 16), 0.4) * (np.arange(50) < 6)[:, None], axis=0)
    assert find_segments(latents, times(100)).spans() == [(0, 99)]
    phase = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    loop = np.stack([np.sin(phase), np.cos(phase), np.sin(2 * phase)], axis=1)
    found = find_segments(loop, times(240))
    assert (found.segments, found.clusters) == (1, 1)


def test_the_number_of_clusters_can_be_asked_for_and_is_checked():
    rng = np.random.default_rng(4)
    latents = np.concatenate([scene(rng, 30), scene(rng, 30), scene(rng, 30)])
    assert find_segments(latents, times(90), clusters=1).clusters == 1
    assert find_segments(latents, times(90), clusters=3).cluster.tolist() == \
        [0] * 30 + [1] * 30 + [2] * 30
    with pytest.raises(ExplorerError, match="only 2 distinct rows"):
        find_segments(np.repeat(np.eye(2), 5, axis=0), clusters=3)
    with pytest.raises(ExplorerError, match="1 to 64 clusters"):
        find_segments(latents, clusters=0)
    with pytest.raises(ExplorerError, match="no latents"):
        find_segments(np.zeros((0, 4)))


def test_tiny_and_constant_trajectories_are_one_segment():
    for latents in (np.zeros((1, 4)), np.ones((2, 4)), np.zeros((50, 8))):
        found = find_segments(latents, times(len(latents)))
        assert (found.segments, found.clusters, found.silhouette) == (1, 1, None)
