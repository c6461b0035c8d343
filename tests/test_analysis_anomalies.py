"""Anomaly scores: reconstruction error, distance from the neighbours in time, density."""

from __future__ import annotations

import numpy as np

from explorer.analysis.anomalies import score_anomalies

ODD = [40, 41, 150, 290]


def smooth_path(rows: int = 300, seed: int = 0) -> np.ndarray:
    """A slow, smooth path through a 16-number latent space."""
    phase = np.linspace(0, 4 * np.pi, rows)
    path = np.stack([np.sin(phase), np.cos(phase), np.sin(phase / 2), phase / 10], axis=1)
    noise = np.random.default_rng(seed).normal(0, 0.01, (rows, 12))
    return np.concatenate([path, noise], axis=1).astype(np.float32)


def test_spliced_odd_latents_top_the_list_and_say_why():
    latents = smooth_path()
    latents[ODD] = np.random.default_rng(1).normal(0, 2, (len(ODD), 16))
    scores = score_anomalies(latents)
    assert sorted(scores.top(len(ODD)).tolist()) == ODD
    assert "far from its neighbours in time" in scores.reasons(150)
    assert "sparse part of latent space" in scores.reasons(150)
    assert scores.reasons(100) == "nothing stands out"


def test_badly_reconstructed_frames_top_the_list_even_where_the_latents_look_ordinary():
    latents = smooth_path()
    psnr = 30 + np.random.default_rng(2).normal(0, 0.5, len(latents))
    psnr[ODD] = 12.0
    scores = score_anomalies(latents, psnr)
    assert sorted(scores.top(len(ODD)).tolist()) == ODD
    assert scores.reasons(41).startswith("reconstruction error (PSNR 12.0 dB, median 29.9)")
    assert set(scores.z) == {"reconstruction", "time", "density"}


def test_a_cut_between_scenes_is_not_an_anomaly():
    """Each frame at a cut is near the frames on its own side."""
    first, second = smooth_path(150), smooth_path(150, seed=3) + 5.0
    scores = score_anomalies(np.concatenate([first, second]))
    assert scores.score[149] < 2 and scores.score[150] < 2


def test_tiny_and_constant_trajectories_score_zero():
    for latents in (np.zeros((1, 4)), np.zeros((2, 4)), np.ones((20, 3))):
        scores = score_anomalies(latents, np.full(len(latents), 30.0))
        assert np.all(scores.score == 0) and np.isfinite(scores.score).all()
        assert scores.top(5).tolist() == list(range(min(5, len(latents))))
