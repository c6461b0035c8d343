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
