import time

import numpy as np

from explorer.latent.background import BackgroundFit, FitProgress
from explorer.latent.projection import UMAPProjection


def wait_for_result(fit: BackgroundFit, timeout: float = 120.0):
    progress = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        news = fit.poll()
        if isinstance(news, FitProgress):
            progress.append(news)
        elif news is not None:
            return news, progress
        time.sleep(0.05)
    raise AssertionError("the background fit did not finish")


def curve(count: int = 120) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, count, endpoint=False)
    rng = np.random.default_rng(0)
    return (np.stack([np.cos(t), np.sin(t), np.sin(2 * t)], 1) @ rng.standard_normal((3, 12))
            ).astype(np.float32)


def test_umap_fits_in_a_child_process_and_reports_progress():
    latents = curve()
    result, progress = wait_for_result(BackgroundFit("umap", latents, seed=0))
    assert isinstance(result, UMAPProjection)
    assert result.embedding.shape == (120, 2)
    np.testing.assert_array_equal(result.inverse(result.embedding[:5]), latents[:5])
    assert progress and progress[-1].done <= progress[-1].total


def test_errors_come_back_as_messages():
    result, _ = wait_for_result(BackgroundFit("umap", curve(3)))
    assert isinstance(result, Exception) and "at least" in str(result)


def test_cancel_ends_the_child():
    fit = BackgroundFit("umap", curve(400), seed=0)
    fit.cancel()
    assert fit.finished and fit.poll() is None
    assert not fit._process.is_alive()
