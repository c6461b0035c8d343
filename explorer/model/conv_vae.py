"""The built-in autoencoders, architecture version 2, in three families.

The same convolutional network serves every family: a 3×3 stem, then stride-2
convolutions down to a 4×4 grid (to 256 channels, twice the seed's), and a linear layer to
the latent vector; the decoder mirrors it with folded upsampling
convolutions (:class:`~explorer.model.beta_vae.UpsampleConv`). What differs is the
bottleneck and the objective (:class:`explorer.model.training._Trainer`):

- ``vae``: a diagonal Gaussian posterior, trained as a β-VAE;
- ``ae``: a plain autoencoder: the latent is a point (log-variance reported as −30);
- ``vq-vae``: the latent vector is cut into ``latent_dim / code_dim`` codes, each snapped
  to the nearest of ``codebook_size`` entries before decoding. The map shows the latents
  before they are snapped; decoding snaps them unless ``quantize`` is off.

The decoder adds its output to a learnt image, the logit of the training frames' mean
(:meth:`ConvVAE.start_from_mean`): like PCA's mean, it is what a latent need not carry,
and near-static clips start out nearly reconstructed.

Version 1 (:class:`~explorer.model.beta_vae.BetaVAE`) is the seed's β-VAE; files of both
versions open.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import torch
from torch import nn

from explorer.model.beta_vae import BetaVAEConfig, UpsampleConv, channels_last

Family = Literal["vae", "ae", "vq-vae"]
FAMILIES: tuple[Family, ...] = ("vae", "ae", "vq-vae")
FAMILY_NAMES = {"vae": "β-VAE", "ae": "autoencoder", "vq-vae": "VQ-VAE"}
NO_LOGVAR = -30.0
"""The log-variance a point latent reports (as for deterministic diffusers models)."""
_GRID = 4  # spatial size at the bottleneck
COMMITMENT = 0.25
"""The weight of a VQ-VAE's commitment term (van den Oord et al.)."""


@dataclass(frozen=True)
class ConvVAEConfig(BetaVAEConfig):
    """Everything needed to rebuild the network; stored in the model file's metadata. The
    sizes and widths are checked as version 1's are; the family and codebook here."""

    max_channels: int = 256
    family: Family = "vae"
    codebook_size: int = 0
    code_dim: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; one of {', '.join(FAMILIES)}")
        quantised = self.family == "vq-vae"
        if quantised != (self.codebook_size > 0 and self.code_dim > 0):
            raise ValueError("codebook_size and code_dim are for vq-vae models, which need both")
        if quantised and self.latent_dim % self.code_dim:
            raise ValueError(
                f"the code size ({self.code_dim}) must divide the latent size ({self.latent_dim})"
            )

    @property
    def deterministic(self) -> bool:
        return self.family in ("ae", "vq-vae")

class Codebook(nn.Module):
    """``size`` entries of ``dim`` numbers; latents snap to the nearest, ``dim`` at a time.

    Trained by the VQ-VAE losses (:meth:`straight_through`), with dead-code restarts:
    entries no training code snapped to since the last :meth:`restart_unused` move onto
    codes of the latest batch, so the codebook does not shrink to the few entries that
    happened to start near the encoder's output.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(size, dim))
        self._used = torch.zeros(size, dtype=torch.bool)
        self._recent = torch.zeros(0, dim)

    def nearest(self, latents: torch.Tensor) -> torch.Tensor:
        """The index of the nearest entry of each code, [N, latent_dim / dim]."""
        codes = latents.reshape(-1, self.embedding.shape[1])
        distances = torch.cdist(codes.float(), self.embedding.float())
        return distances.argmin(dim=1).view(latents.shape[0], -1)

    def snap(self, latents: torch.Tensor) -> torch.Tensor:
        """``latents`` [N, latent_dim] with each code replaced by its nearest entry."""
        return self.embedding[self.nearest(latents)].reshape(latents.shape).to(latents.dtype)

    def straight_through(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Snapped latents whose gradient reaches ``latents`` unchanged, and the penalty that
        trains the codebook: entries pulled to the codes, codes committed to their entries."""
        indices = self.nearest(latents)
        snapped = self.embedding[indices].reshape(latents.shape)
        codebook = (snapped - latents.detach()).pow(2).sum(dim=1).mean()
        commitment = (latents - snapped.detach()).pow(2).sum(dim=1).mean()
        self._used[indices.flatten().cpu()] = True
        self._recent = latents.detach().reshape(-1, self.embedding.shape[1])
        return latents + (snapped - latents).detach(), codebook + COMMITMENT * commitment

    @torch.no_grad()
    def restart_unused(self) -> int:
        """Move every entry unused since the last call onto a recent code; how many moved."""
        dead = (~self._used).nonzero().flatten()
        if len(dead) and len(self._recent):
            picks = torch.randint(len(self._recent), (len(dead),))
            self.embedding[dead.to(self.embedding.device)] = self._recent[picks].to(
                self.embedding.dtype)
        self._used.zero_()
        return len(dead)


class ConvVAE(nn.Module):
    """Encoder/decoder pair working on float tensors in [0, 1], shape [N, 3, S, S]."""

    def __init__(self, config: ConvVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.quantize = True
        """Whether decoding snaps latents to the codebook (vq-vae only)."""
        channels = config.channels
        stem = nn.Conv2d(3, channels[0], 3, padding=1)
        layers: list[nn.Module] = [stem]
        for width_in, width in pairwise([channels[0], *channels]):
            layers += [nn.SiLU(), nn.Conv2d(width_in, width, 4, stride=2, padding=1)]
        self.encoder = nn.Sequential(*layers, nn.SiLU(), nn.Flatten())
        flat = channels[-1] * _GRID * _GRID
        moments = 1 if config.deterministic else 2
        self.to_latent = nn.Linear(flat, moments * config.latent_dim)

        self.from_latent = nn.Linear(config.latent_dim, flat)
        layers = []
        widths = [*reversed(channels), channels[0]]
        for width_in, width in pairwise(widths):
            layers += [nn.SiLU(), UpsampleConv(width_in, width)]
        self.decoder = nn.Sequential(*layers, nn.SiLU(), nn.Conv2d(channels[0], 3, 3, padding=1))
        size = config.image_size
        self.mean_logit = nn.Parameter(torch.zeros(3, size, size))
        self.codebook = (
            Codebook(config.codebook_size, config.code_dim) if config.family == "vq-vae" else None
        )

    @torch.no_grad()
    def start_from_mean(self, mean_image: torch.Tensor) -> None:
        """Start decoding at ``mean_image`` [3, S, S] in [0, 1]: the learnt image is its
        logit and the decoder's last convolution starts at zero."""
        clipped = mean_image.to(self.mean_logit).clamp(1e-3, 1 - 1e-3)
        self.mean_logit.copy_(torch.logit(clipped))
        last = self.decoder[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x), each [N, latent_dim]; a point latent's
        log-variance is :data:`NO_LOGVAR`. VQ latents are those before snapping."""
        moments = self.to_latent(self.encoder(images))
        if self.config.deterministic:
            return moments, torch.full_like(moments, NO_LOGVAR)
        mu, logvar = moments.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], [N, 3, S, S]; VQ latents are snapped first if ``quantize``."""
        if self.codebook is not None and self.quantize:
            latents = self.codebook.snap(latents)
        return self.decode_exact(latents)

    def decode_exact(self, latents: torch.Tensor) -> torch.Tensor:
        """Decode ``latents`` as they are (training decodes straight-through codes)."""
        grid = self.from_latent(latents).view(-1, self.config.channels[-1], _GRID, _GRID)
        return torch.sigmoid(self.decoder(channels_last(grid)) + self.mean_logit)
