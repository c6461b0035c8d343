import os
import sys
import threading
import time

import numpy as np
import pytest

from explorer.latent.background import BackgroundFit, FitProgress
from explorer.latent.projection import UMAPProjection
from explorer.priority import BACKGROUND_NICE


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


def test_umap_fits_in_a_child_process_and_reports_progress(monkeypatch):
    from explorer.latent.nearest import NearestRows

    monkeypatch.setattr("explorer.latent.nearest.INDEXED_FROM", 50)  # searched by a tree
    build = NearestRows._build
    monkeypatch.setattr(NearestRows, "_build", lambda rows: (time.sleep(1), build(rows)))
    latents = curve()
    result, progress = wait_for_result(BackgroundFit("umap", latents, seed=0))
    assert isinstance(result, UMAPProjection)
    # handed over once new latents are placed from the index (not every row: 10-60 ms of
    # the GUI thread at a million)
    assert result.searchable.is_set() and result._neighbours._index is not None
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a child's nice value is "
                    "inherited from the thread that starts it on Linux")
def test_the_child_runs_at_a_low_priority_from_its_start_and_the_window_keeps_its_own():
    """On two cores a child at normal priority (UMAP's numba threads) starved the window's
    event loop for a quarter of a second at a time."""
    fit = BackgroundFit("umap", curve(), seed=0)
    deadline = time.monotonic() + 60
    while fit._process.pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.getpriority(os.PRIO_PROCESS, fit._process.pid) == BACKGROUND_NICE
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0, "not this thread"
    fit.cancel()


@pytest.mark.parametrize("exit_after_s", [0.05, 0.3])
def test_a_program_ending_while_the_child_starts_leaves_no_traceback(exit_after_s):
    """The latents reach the child through a pipe once it has started: in its start-up
    message, a window closed while the child read them cut them short, and the child
    printed a traceback."""
    import subprocess
    import sys

    code = ("import time, numpy as np\n"
            "from explorer.latent.background import BackgroundFit\n"
            "latents = np.random.default_rng(0).standard_normal((400_000, 16))\n"
            "fit = BackgroundFit('umap', latents.astype(np.float32))\n"
            f"time.sleep({exit_after_s})\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
