"""The built-in autoencoders, architecture versions 2 and 3, in four families.

The same convolutional network serves every family: a 3×3 stem, then stride-2
convolutions down to a 4×4 grid (to 256 channels, twice the seed's), and a linear layer to
the latent vector; the decoder mirrors it with folded upsampling
convolutions (:class:`~explorer.model.beta_vae.UpsampleConv`). What differs is the
bottleneck and the objective (:class:`explorer.model.training._Trainer`):

- ``vae``: a diagonal Gaussian posterior, trained as a β-VAE;
- ``ae``: a plain autoencoder: the latent is a point (log-variance reported as −30);
- ``vq-vae``: the latent vector is cut into ``latent_dim / code_dim`` codes, each snapped
  to the nearest of ``codebook_size`` entries before decoding. The map shows the latents
  before they are snapped; decoding snaps them unless ``quantize`` is off;
- ``vae-gan``: the β-VAE's network, trained with a patch discriminator besides
  (:mod:`explorer.model.adversarial`); the saved model is a β-VAE's.

Version 3 adds a linear path beside the network (:class:`LinearPath`): the latent is a
linear projection of the frame plus what the convolutional encoder adds, and the frame is a
linear image of the latent plus what the convolutional decoder adds. Training starts the
linear path at PCA of the training frames (whitened, so the latents start with unit
variance as the prior wants) and the network's last layers at zero
(:meth:`ConvVAE.start_from_pca`): the untrained model reconstructs exactly as well as PCA
with as many components, and training can only add what the nonlinear network learns. On
real clips a network started from scratch did not catch up with PCA in five minutes of a
2-core CPU; started from it, it passes PCA by 2–3 dB (docs/training.md). Version 2 instead
added the decoder's output to a learnt mean image before a sigmoid.

Spatial latents (``latent_grid``, ``explorer train --latent-shape 4x16x16``) stop the
encoder at a ``latent_grid``-square grid of ``latent_dim / latent_grid²`` channels instead of
flattening it to a vector: image-shaped latents like a diffusers autoencoder's, which keep
where things are. Their linear path works patch by patch (:class:`PatchLinearPath`): each
cell of the grid is a linear projection of the patch of frame under it, started at PCA of
the training frames' patches. (Files trained before it, without a linear path, start from
the training frames' mean image, as version 2 does, and still open.)

Version 1 (:class:`~explorer.model.beta_vae.BetaVAE`) is the seed's β-VAE; files of both
versions open.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from explorer.model.beta_vae import BetaVAEConfig, UpsampleConv, channels_last

Family = Literal["vae", "ae", "vq-vae", "vae-gan"]
FAMILIES: tuple[Family, ...] = ("vae", "ae", "vq-vae", "vae-gan")
FAMILY_NAMES = {"vae": "β-VAE", "ae": "autoencoder", "vq-vae": "VQ-VAE", "vae-gan": "VAE-GAN"}
NO_LOGVAR = -30.0
"""The log-variance a point latent reports (as for deterministic diffusers models)."""
_GRID = 4  # spatial size at the bottleneck
COMMITMENT = 0.25
"""The weight of a VQ-VAE's commitment term (van den Oord et al.)."""
MAX_LINEAR_LATENTS = 256
"""A linear path holds two latent × pixel matrices: 256 latents at 256 px are 100M values."""
START_LOGVAR = -4.0
"""The log-variance a VAE's latents start at: a posterior narrow beside the prior's unit
spread, so the noise of sampling does not undo the PCA start."""


@dataclass(frozen=True)
class ConvVAEConfig(BetaVAEConfig):
    """Everything needed to rebuild the network; stored in the model file's metadata. The
    sizes and widths are checked as version 1's are; the family and codebook here."""

    max_channels: int = 256
    family: Family = "vae"
    codebook_size: int = 0
    code_dim: int = 0
    linear_path: bool = False
    """Version 3: a linear path (:class:`LinearPath`, :class:`PatchLinearPath` for spatial
    latents) beside the network."""
    latent_grid: int = 0
    """Version 3: the side of a spatial latent's grid; 0 for a latent vector."""

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
        if self.linear_path and not self.latent_grid and self.latent_dim > MAX_LINEAR_LATENTS:
            raise ValueError(f"a linear path takes at most {MAX_LINEAR_LATENTS} latents, "
                             f"not {self.latent_dim}")
        if self.latent_grid:
            self._check_grid()

    def _check_grid(self) -> None:
        grid, size = self.latent_grid, self.image_size
        if grid & (grid - 1) or not 4 <= grid <= size // 2:
            raise ValueError(f"a latent grid must be a power of two from 4 to {size // 2} "
                             f"for {size} px frames, not {grid}")
        if self.latent_dim % (grid * grid):
            raise ValueError(f"{self.latent_dim} latents do not fill a {grid}×{grid} grid")
        if self.family == "vq-vae":
            raise ValueError("spatial latents are for the vae, ae and vae-gan families")

    @property
    def version(self) -> int:
        """The architecture version these settings describe: 3 with a linear path or
        spatial latents, else 2."""
        return 3 if self.linear_path or self.latent_grid else 2

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """(latent_dim,) for a vector, (channels, grid, grid) for spatial latents."""
        grid = self.latent_grid
        return (self.latent_dim // (grid * grid), grid, grid) if grid else (self.latent_dim,)

    @property
    def grid(self) -> int:
        """The spatial latents' grid, or 4×4 before a latent vector."""
        return self.latent_grid or _GRID

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


class LinearPath(nn.Module):
    """A linear encoder and decoder between frames and latents, started at PCA.

    ``encode`` is ``(x − mean) · encoderᵀ`` and ``decode`` is ``mean + z · decoder``, over
    frames flattened channel-first. Started at whitened PCA (:meth:`start_from`) they are
    PCA's projection and reconstruction; training moves them on with the rest.
    """

    def __init__(self, latent_dim: int, values: int) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.zeros(values))
        self.encoder = nn.Parameter(torch.zeros(latent_dim, values))
        self.decoder = nn.Parameter(torch.zeros(latent_dim, values))

    @torch.no_grad()
    def start_from(self, mean: torch.Tensor, axes: torch.Tensor, spreads: torch.Tensor) -> None:
        """Start at PCA: ``mean`` [values], unit ``axes`` [k, values] and the standard
        deviation of the data along each, ``spreads`` [k]. Latents beyond ``k`` (a clip with
        fewer frames than latents) start with no linear part."""
        count = len(axes)
        self.mean.copy_(mean)
        self.encoder.zero_()
        self.decoder.zero_()
        self.encoder[:count] = axes / spreads.clamp_min(1e-6)[:, None]
        self.decoder[:count] = axes * spreads[:, None]

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return (images.flatten(1) - self.mean) @ self.encoder.T

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.mean + latents @ self.decoder


class PatchLinearPath(LinearPath):
    """The linear path of spatial latents: each cell of the latent grid is a linear
    projection of the ``patch`` × ``patch`` pixels under it, and those pixels a linear
    image of the cell (a strided convolution and its transpose, the same weights for
    every patch). Started at PCA of the training frames' patches, flattened channel-first,
    it reconstructs as that PCA does: a start for image-shaped latents that frame PCA
    cannot be (1,024 latents of a few hundred frames span nothing more than the frames)."""

    def __init__(self, channels: int, patch: int) -> None:
        super().__init__(channels, 3 * patch * patch)
        self.patch = patch

    def _tiled_mean(self, cells: int) -> torch.Tensor:
        return self.mean.view(3, self.patch, self.patch).repeat(1, cells, cells)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        cells = images.shape[-1] // self.patch
        weights = self.encoder.view(-1, 3, self.patch, self.patch)
        return F.conv2d(images - self._tiled_mean(cells), weights, stride=self.patch)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        weights = self.decoder.view(-1, 3, self.patch, self.patch)
        images = F.conv_transpose2d(latents, weights, stride=self.patch)
        return images + self._tiled_mean(latents.shape[-1])


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
        moments = 1 if config.deterministic else 2
        if config.latent_grid:
            latent_channels = config.latent_shape[0]
            self.encoder = nn.Sequential(*layers, nn.SiLU())
            self.to_latent = nn.Conv2d(channels[-1], moments * latent_channels, 3, padding=1)
            self.from_latent = nn.Conv2d(latent_channels, channels[-1], 3, padding=1)
        else:
            flat = channels[-1] * _GRID * _GRID
            self.encoder = nn.Sequential(*layers, nn.SiLU(), nn.Flatten())
            self.to_latent = nn.Linear(flat, moments * config.latent_dim)
            self.from_latent = nn.Linear(config.latent_dim, flat)
        layers = []
        widths = [*reversed(channels), channels[0]]
        for width_in, width in pairwise(widths):
            layers += [nn.SiLU(), UpsampleConv(width_in, width)]
        self.decoder = nn.Sequential(*layers, nn.SiLU(), nn.Conv2d(channels[0], 3, 3, padding=1))
        size = config.image_size
        if config.linear_path and config.latent_grid:
            self.linear = PatchLinearPath(config.latent_shape[0], size // config.latent_grid)
        elif config.linear_path:
            self.linear = LinearPath(config.latent_dim, 3 * size * size)
        else:
            self.mean_logit = nn.Parameter(torch.zeros(3, size, size))
        self.codebook = (
            Codebook(config.codebook_size, config.code_dim) if config.family == "vq-vae" else None
        )

    @torch.no_grad()
    def start_from_pca(self, mean: torch.Tensor, axes: torch.Tensor, spreads: torch.Tensor
                       ) -> None:
        """Start as PCA of the training frames (see :meth:`LinearPath.start_from`, frames
        flattened channel-first), or of their patches for spatial latents: the linear path
        at PCA, the network's contributions (the encoder's last layer, the decoder's last
        convolution) at zero, and a VAE's log-variances at :data:`START_LOGVAR`. Without a
        linear path, only PCA's mean of whole frames is used: the decoder starts at the
        mean image and the encoder as it was built."""
        last = self.decoder[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        if not self.config.linear_path:
            size = self.config.image_size
            self.mean_logit.copy_(torch.logit(mean.view(3, size, size).clamp(1e-3, 1 - 1e-3)))
            return
        self.linear.start_from(mean, axes, spreads)
        nn.init.zeros_(self.to_latent.weight)
        nn.init.zeros_(self.to_latent.bias)
        if not self.config.deterministic:
            half = len(self.to_latent.bias) // 2  # the log-variances follow the means
            self.to_latent.bias[half:] = START_LOGVAR

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x), each [N, *latent_shape]; a point latent's
        log-variance is :data:`NO_LOGVAR`. VQ latents are those before snapping."""
        moments = self.to_latent(self.encoder(images))
        if self.config.deterministic:
            mu, logvar = moments, torch.full_like(moments, NO_LOGVAR)
        else:
            mu, logvar = moments.chunk(2, dim=1)
            logvar = logvar.clamp(-30.0, 20.0)
        if self.config.linear_path:
            mu = mu + self.linear.encode(images)
        return mu, logvar

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1], [N, 3, S, S]; VQ latents are snapped first if ``quantize``."""
        if self.codebook is not None and self.quantize:
            latents = self.codebook.snap(latents)
        return self.decode_exact(latents).clamp(0.0, 1.0)

    def decode_exact(self, latents: torch.Tensor) -> torch.Tensor:
        """Decode ``latents`` as they are (training decodes straight-through codes). With a
        linear path the images are not clipped to [0, 1] (training sees the raw sum);
        :meth:`decode` clips them."""
        features = self.from_latent(latents)
        if not self.config.latent_grid:
            features = features.view(-1, self.config.channels[-1], _GRID, _GRID)
        network = self.decoder(channels_last(features))
        if not self.config.linear_path:
            return torch.sigmoid(network + self.mean_logit)
        size = self.config.image_size
        return network + self.linear.decode(latents).view(-1, 3, size, size)
