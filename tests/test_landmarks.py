"""UMAP at scale: a landmark fit, every other frame placed beside its landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.manifold import trustworthiness

from explorer.errors import Cancelled
from explorer.latent import landmarks
from explorer.latent.landmarks import NEIGHBOURS, fit_umap_with_landmarks, landmark_rows
from explorer.latent.projection import PCAProjection, UMAPProjection
from explorer.latent.synthetic import random_walk_trajectory

FRAMES, LANDMARKS = 1200, 200


def image_shaped(count: int) -> np.ndarray:
    """Latents [N, 4, 4, 4] along a noisy random walk: more numbers than UMAP's principal
    subspace holds, so they are reduced before any neighbour search."""
    walk = random_walk_trajectory(count, dim=64, seed=5).mu
    noise = np.random.default_rng(0).standard_normal(walk.shape).astype(np.float32)
    return (walk + 0.05 * noise).reshape(count, 4, 4, 4)


@pytest.fixture(scope="module")
def fitted():
    latents = image_shaped(FRAMES)
    times = np.arange(FRAMES) / 24.0
    progress: list[tuple[int, int]] = []
    layout = fit_umap_with_landmarks(latents, times, landmarks=LANDMARKS, seed=3,
                                     on_progress=lambda done, total:
                                     progress.append((done, total)))
    return latents, times, layout, progress


def test_landmarks_are_laid_out_by_umap_and_the_rest_beside_them(fitted) -> None:
    latents, _, layout, _ = fitted
    assert layout.embedding.shape == (FRAMES, 2) and layout.embedding.dtype == np.float32
    assert np.isfinite(layout.embedding).all()
    assert len(layout.landmarks) == LANDMARKS
    assert np.array_equal(layout.embedding[layout.landmarks], layout.projection.embedding)
    # each other frame lies among the map positions of its nearest landmarks in latent space
    reduced = layout.projection.reduce(latents)
    marks = reduced[layout.landmarks]
    others = np.setdiff1d(np.arange(FRAMES), layout.landmarks)
    distance = np.linalg.norm(reduced[others, None] - marks[None], axis=2)
    near = np.argsort(distance, axis=1)[:, :NEIGHBOURS]
    around = layout.projection.embedding[near]  # [M, k, 2]
    placed = layout.embedding[others]
    assert (placed >= around.min(axis=1) - 1e-4).all()
    assert (placed <= around.max(axis=1) + 1e-4).all()


def test_the_layout_keeps_neighbourhoods(fitted) -> None:
    latents, _, layout, _ = fitted
    flat = latents.reshape(FRAMES, -1)
    assert trustworthiness(flat, layout.embedding, n_neighbors=10) > 0.9
    shuffled = np.random.default_rng(0).permutation(layout.embedding)
    assert trustworthiness(flat, shuffled, n_neighbors=10) < 0.8  # the measure can fail


def test_progress_runs_through_the_epochs_then_the_placing(fitted) -> None:
    *_, progress = fitted
    done, totals = zip(*progress, strict=True)
    assert len(set(totals)) == 1
    assert list(done) == sorted(done)
    assert done[-1] == totals[0]


def test_the_same_seed_gives_the_same_layout(fitted) -> None:
    latents, times, layout, _ = fitted
    again = fit_umap_with_landmarks(latents, times, landmarks=LANDMARKS, seed=3)
    assert np.array_equal(again.embedding, layout.embedding)
    assert np.array_equal(again.landmarks, layout.landmarks)


def pca_as_umap(latents, seed, on_progress, should_stop, init) -> UMAPProjection:
    """A stand-in for the UMAP fit (a PCA layout, ten "epochs"), to test the placing."""
    flat = latents.reshape(len(latents), -1)
    for epoch in range(11):
        on_progress(epoch, 10)
    embedding = PCAProjection.fit(flat).embedding
    return UMAPProjection(flat, embedding, flat.mean(axis=0), np.eye(flat.shape[1]),
                          {"seed": seed, "n_neighbors": 15, "min_dist": 0.1})


def test_the_placing_goes_in_chunks_that_report_progress_and_cancel(monkeypatch) -> None:
    monkeypatch.setattr(landmarks, "_CHUNK_ROWS", 100)
    monkeypatch.setattr(landmarks.UMAPProjection, "fit", pca_as_umap)
    trajectory = random_walk_trajectory(1000, dim=6)
    progress: list[tuple[int, int]] = []
    layout = fit_umap_with_landmarks(trajectory.mu, trajectory.time_s, landmarks=50,
                                     on_progress=lambda *report: progress.append(report))
    assert progress == [(epoch, 20) for epoch in range(21)]
    assert np.array_equal(layout.embedding[layout.landmarks], layout.projection.embedding)
    with pytest.raises(Cancelled):
        fit_umap_with_landmarks(trajectory.mu, trajectory.time_s, landmarks=50,
                                on_progress=lambda *report: progress.append(report),
                                should_stop=lambda: progress[-1][0] >= 13)
    assert progress[-1] == (13, 20)  # three chunks placed, then it stopped


def test_few_frames_get_a_plain_umap() -> None:
    trajectory = random_walk_trajectory(150, dim=8, seed=1)
    layout = fit_umap_with_landmarks(trajectory.mu, trajectory.time_s, landmarks=150, seed=2)
    plain = UMAPProjection.fit(trajectory.mu, seed=2, init="pca")
    assert np.array_equal(layout.landmarks, np.arange(150))
    assert np.array_equal(layout.embedding, plain.embedding)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 320), st.integers(0, 3))
def test_landmarks_are_one_from_each_equal_stretch_of_time(total, count, seed) -> None:
    order = np.random.default_rng(seed).permutation(total)  # rows not in time order
    times = order / 24.0
    rows = landmark_rows(times, count, seed)
    assert np.array_equal(rows, np.sort(rows)) and rows.dtype == np.int64
    assert len(set(rows.tolist())) == len(rows) == min(count, total)
    taken = min(count, total)
    bounds = np.arange(taken + 1) * total // taken  # the stretches of the time order
    stretch = np.searchsorted(bounds, order[rows], side="right") - 1
    assert np.array_equal(np.sort(stretch), np.arange(taken))
    assert np.array_equal(landmark_rows(times, count, seed), rows)


def test_landmarks_follow_the_seed() -> None:
    times = np.arange(10_000) / 24.0
    assert not np.array_equal(landmark_rows(times, 100, 0), landmark_rows(times, 100, 1))


def test_times_must_match_the_latents() -> None:
    with pytest.raises(ValueError, match="times"):
        fit_umap_with_landmarks(np.zeros((10, 3), np.float32), np.zeros(9))


def test_a_synthetic_random_walk_is_a_smooth_trajectory() -> None:
    trajectory = random_walk_trajectory(5000, dim=16, seed=4)
    assert trajectory.mu.shape == trajectory.logvar.shape == (5000, 16)
    assert trajectory.mu.dtype == trajectory.logvar.dtype == np.float32
    assert np.array_equal(trajectory.frame_index, np.arange(5000))
    assert np.allclose(trajectory.mu.std(axis=0), 1.0, atol=1e-3)
    step = np.linalg.norm(np.diff(trajectory.mu, axis=0), axis=1)
    spread = np.linalg.norm(trajectory.mu - trajectory.mu.mean(axis=0), axis=1)
    assert step.max() < 0.1 * spread.max()  # a path, not a cloud
    assert np.array_equal(random_walk_trajectory(5000, dim=16, seed=4).mu, trajectory.mu)
