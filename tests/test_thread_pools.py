"""The window's process leaves its GUI thread a core: BLAS and the worker's previews run
their thread pools on all cores but one, and a loaded built-in model decodes its first
preview without folding its kernels then."""

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from explorer.model import beta_vae
from explorer.model.files import load_model
from explorer.paths import demo_model_path
from explorer.priority import available_cores, leave_the_window_a_core
from tests.gui_helpers import ready_window


def test_blas_runs_on_all_cores_but_one():
    with threadpool_limits(limits=available_cores(), user_api="blas"):  # restored after
        leave_the_window_a_core()
        threads = {pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"}
    assert threads == {max(1, available_cores() - 1)}


class ThreadCountingVAE:
    """The demo model, noting how many threads torch had for each decode."""

    def __init__(self, vae) -> None:
        self._vae = vae
        self.threads: list[int] = []

    def __getattr__(self, name):
        return getattr(self._vae, name)

    def decode(self, latents):
        self.threads.append(torch.get_num_threads())
        return self._vae.decode(latents)


def test_previews_decode_on_all_cores_but_one(qtbot):
    models = []

    def loader(path, device):
        models.append(ThreadCountingVAE(load_model(path, device)))
        return models[-1]

    window = ready_window(qtbot, model_loader=loader)
    model = models[0]
    model.threads.clear()  # the encode's are its own (it leaves the video reader a core)
    with qtbot.waitSignal(window.worker.framePreviewReady, timeout=30_000):
        window.state.set_frame(5)
    with qtbot.waitSignal(window.worker.cursorReady, timeout=30_000):
        window.state.set_probe(window.state.trajectory.mu[7])
    everywhere = torch.get_num_threads()  # this thread's pool: every core
    assert len(model.threads) >= 2
    assert set(model.threads) == {max(1, min(everywhere, available_cores() - 1))}
    window.close()


def test_a_loaded_model_folds_its_kernels_before_its_first_decode(monkeypatch):
    vae = load_model(demo_model_path())
    folds = []
    unfolded = beta_vae.fold_upsampling
    monkeypatch.setattr(beta_vae, "fold_upsampling", lambda w: folds.append(w) or unfolded(w))
    frames = vae.decode(np.zeros((1, *vae.latent_shape), np.float32))
    assert frames.shape == (1, *vae.frame_size, 3)
    assert folds == []
    vae.module.train()  # a mode switch drops the folded kernels: they are folded again
    vae.module.eval()
    vae.decode(np.zeros((1, *vae.latent_shape), np.float32))
    assert folds
