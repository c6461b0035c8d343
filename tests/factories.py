"""Small objects that several test modules build."""

from __future__ import annotations

import numpy as np

from explorer.model.beta_vae import BetaVAE, BetaVAEConfig
from explorer.model.torch_vae import TorchVAE


def make_vae(size: int = 64, latent_dim: int = 8, batch_size: int = 32) -> TorchVAE:
    """A randomly initialised (seeded) built-in β-VAE."""
    import torch

    torch.manual_seed(0)
    config = BetaVAEConfig(image_size=size, latent_dim=latent_dim)
    return TorchVAE(
        BetaVAE(config), (size, size), (latent_dim,), kind="test", batch_size=batch_size
    )


def random_frames(count: int, height: int, width: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), np.uint8)


def make_library(folder, videos, model):
    """A library of ``videos`` (paths), built as ``explorer library encode`` builds one
    but without Ray: the same worker encodes each video in turn, then the shared map is
    fitted. Returns the folder."""
    from pathlib import Path
    from types import SimpleNamespace

    from explorer.library.catalog import ModelEntry, new_library, save_library
    from explorer.library.shared_map import refresh_map
    from explorer.library.worker import EncodeWorker, Job, WorkerConfig
    from explorer.model.identity import model_identity, model_location

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    worker = EncodeWorker(WorkerConfig(str(model), False, "cpu", 16, str(folder)))
    tally = SimpleNamespace(report=SimpleNamespace(remote=lambda *_args: None))
    entries = [worker.encode(Job(index, str(Path(video).resolve()), f"{Path(video).stem}.npz",
                                 0), tally)
               for index, video in enumerate(videos)]
    model_entry = ModelEntry(path=model_location(model), identity=model_identity(model),
                             latent_shape=list(worker.ready().latent_shape))
    library = new_library(model_entry).model_copy(update={"videos": entries})
    save_library(folder, refresh_map(folder, library))
    return folder
