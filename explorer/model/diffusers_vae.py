"""diffusers image autoencoder folders: Stable Diffusion's VAE, TAESD, DC-AE, VQ-VAEs...

A folder written by ``save_pretrained`` (``config.json`` and safetensors weights) opens
with the optional diffusers extra, as the class its config names, if that class is one
of :data:`~explorer.model.diffusers_families.SUPPORTED` (the table there says how each
encodes and decodes).

Latents are those a diffusion model sees. For a Gaussian (KL) autoencoder they are the
posterior's mean, shifted by the config's ``shift_factor`` (when it has one) and
multiplied by its ``scaling_factor``, with the log-variance moved by the same scale
(``logvar + 2 log scaling_factor``); decoding undoes both. ``latents_mean`` and
``latents_std``, which only some pipelines apply, are not. A deterministic autoencoder
(``AutoencoderTiny``, ``AutoencoderDC``, ``VQModel``) has no log-variance: it reports
:data:`NO_LOGVAR` everywhere and ``"deterministic": True`` in ``describe()``. A VQ-VAE's
latents are its continuous pre-quantisation latents; decoding quantises them, as the model
does, unless it is opened with ``quantize=False``; it opens as a :class:`QuantisedVAE`,
which also counts the codebook entries a video's latents use.

The model has no fixed frame size: it is the config's ``sample_size`` (else 256 px), or
the ``frame_size`` asked for, rounded down to a multiple of the model's downsampling
factor (8 for Stable Diffusion); frames of any other size are fitted to it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from explorer.errors import ExplorerError, ModelFileError
from explorer.model.diffusers_families import ImageFamily, image_family
from explorer.model.diffusers_folder import (
    check_size_against_weights,
    fit_frame_size,
    from_pretrained,
    import_class,
    read_config,
)
from explorer.model.torch_vae import TorchVAE, to_device

NO_LOGVAR = -30.0
"""The log-variance a deterministic autoencoder reports (variance e⁻³⁰ ≈ 10⁻¹³): the
contract always returns ``(mu, logvar)``, and this says "a point, not a distribution"
while staying finite (the model guard refuses infinities) and exact in float16."""

_DEFAULT_SIZE = 256
# Frames per batch are chosen to keep about this many pixels in flight: the decoder's
# full-resolution activations (128 channels at 512 px for Stable Diffusion) dominate memory.
_PIXELS_PER_BATCH = 1 << 19
# Latent vectors × codebook entries compared at a time when counting the codes a video
# uses: 32 MiB of float32 distances, however long the video is and however large the codebook.
_DISTANCES_PER_CHUNK = 1 << 23


def load_diffusers_vae(
    folder: str | os.PathLike[str],
    device: str = "auto",
    *,
    frame_size: int | Sequence[int] | None = None,
    half_precision: bool | None = None,
    batch_size: int | None = None,
    quantize: bool | None = None,
) -> TorchVAE:
    """Load a diffusers image autoencoder from a local ``save_pretrained`` folder.

    ``half_precision`` runs it in float16 on CUDA. By default it does unless the config
    asks to keep float32 with ``force_upcast``, which diffusers assumes when a config does
    not say (the SDXL VAE needs it: its activations overflow float16). ``batch_size``
    defaults to fewer frames the larger they are. ``quantize`` is for VQ models only:
    False decodes latents as they are, without snapping them to the codebook (default
    True); for other classes it must not be given.
    """
    root = Path(folder).expanduser()
    config = read_config(root)
    family = image_family(config.get("_class_name"), root)
    if quantize is not None and not family.quantised:
        raise ModelFileError(
            f"{root}: quantize applies to VQ models only, not to a {family.class_name}"
        )
    if quantize is False and config.get("lookup_from_codebook"):
        raise ModelFileError(
            f"{root}: this {family.class_name} reads codebook indices when not quantising "
            "(lookup_from_codebook), so it decodes only through its quantiser: "
            "remove quantize: false"
        )
    model_class, accelerate = import_class(family.class_name)
    check_size_against_weights(root, config, model_class)
    autoencoder = from_pretrained(root, model_class, accelerate)
    try:
        module = DiffusersImageAutoencoder(autoencoder, family, quantize=quantize is not False)
    except ModelFileError as exc:
        raise ModelFileError(f"{root}: {exc}") from None
    loaded = autoencoder.config  # the folder's config completed with the defaults
    if frame_size is None:
        frame_size = config.get("sample_size") or _DEFAULT_SIZE
    size = fit_frame_size(root, frame_size, family.downsampling(loaded))
    if half_precision is None:
        half_precision = not loaded.get("force_upcast", True)
    if batch_size is None:
        batch_size = max(1, min(32, _PIXELS_PER_BATCH // (size[0] * size[1])))
    wrapper = QuantisedVAE if family.quantised else TorchVAE
    return wrapper(
        module,
        size,
        family.latent_shape(loaded, size),
        kind=f"diffusers {family.class_name}",
        metadata={"path": str(root), **module.facts()},
        device=device,
        batch_size=batch_size,
        half=half_precision,
    )


class DiffusersImageAutoencoder(nn.Module):
    """A diffusers image autoencoder seen through TorchVAE's conventions: images in [0, 1]
    (diffusers' are in [-1, 1]), latents scaled as its family says."""

    def __init__(self, autoencoder: nn.Module, family: ImageFamily, *, quantize: bool = True):
        super().__init__()
        self.autoencoder = autoencoder
        self.family = family
        self.quantize = quantize
        config = autoencoder.config
        self.scale = _factor(config, "scaling_factor", 1.0) if family.scaled else 1.0
        self.shift = _factor(config, "shift_factor", 0.0) if family.scaled else 0.0

    def facts(self) -> dict[str, Any]:
        """What ``describe()`` adds for this model: the Model panel shows these."""
        config = self.autoencoder.config
        facts: dict[str, Any] = {"deterministic": self.family.deterministic}
        if self.family.scaled:
            facts |= {"scaling_factor": self.scale, "shift_factor": self.shift}
        if self.family.quantised:
            facts |= {"codebook_size": int(config["num_vq_embeddings"]),
                      "quantize": self.quantize}
        return facts

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = getattr(self.autoencoder.encode(images * 2.0 - 1.0), self.family.output)
        if self.family.deterministic:
            mean, logvar = encoded, torch.full_like(encoded, NO_LOGVAR)
        else:
            mean, logvar = encoded.mean, encoded.logvar + 2.0 * math.log(self.scale)
        return (mean - self.shift) * self.scale, logvar

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        z = latents / self.scale + self.shift
        options = {"force_not_quantize": not self.quantize} if self.family.quantised else {}
        images = self.autoencoder.decode(z, **options).sample
        return (images + 1.0) / 2.0


class QuantisedVAE(TorchVAE):
    """A VQ model (:class:`DiffusersImageAutoencoder` of a quantised family): a TorchVAE
    that can also say how many of its codebook entries a video's latents use."""

    @torch.inference_mode()
    def codes_used(self, latents: np.ndarray) -> int:
        """How many distinct codebook entries ``latents`` (float ``[N, *latent_shape]``, or
        flattened ``[N, D]`` as a trajectory stores them) snap to: those decoding through
        the quantiser would show (counted even when the model decodes without it). The
        model's own quantiser picks them, in its dtype, as in decoding; a chunk of latent
        vectors at a time, so memory stays bounded however long the video."""
        latents = np.asarray(latents, dtype=np.float32)
        if latents.shape[1:] not in (self.latent_shape, (math.prod(self.latent_shape),)):
            raise ExplorerError(
                f"latents of shape {latents.shape[1:]} do not fit this model, "
                f"which expects {self.latent_shape}"
            )
        latents = latents.reshape(len(latents), *self.latent_shape)
        quantizer = self.module.autoencoder.quantize
        used = torch.zeros(quantizer.n_e, dtype=torch.bool, device=self._device)
        for vectors in _vectors(latents, max(1, _DISTANCES_PER_CHUNK // quantizer.n_e)):
            z = to_device(vectors, self._device).to(self.dtype)  # [m, C]
            # [1, C, 1, m]: an image one row high, whose m positions are quantised alone.
            _, _, (_, _, indices) = quantizer(z.T[None, :, None, :])
            used[indices.flatten()] = True
        return int(used.sum())


def _vectors(latents: np.ndarray, count: int) -> Iterator[np.ndarray]:
    """The latent vectors of ``latents`` ``[N, C, h, w]``, ``[m ≤ count, C]`` at a time,
    each chunk a copy of a few frames' only."""
    cells = math.prod(latents.shape[2:])
    frames = max(1, count // cells)
    for start in range(0, len(latents), frames):
        vectors = np.moveaxis(latents[start : start + frames], 1, -1).reshape(-1, latents.shape[1])
        for first in range(0, len(vectors), count):
            yield vectors[first : first + count]


def _factor(config: Any, key: str, default: float) -> float:
    """The config's ``key`` (``default`` where it is missing or null), checked to be a
    usable scale: finite, and positive for ``scaling_factor``."""
    value = config.get(key)
    if value is None:
        return default
    usable = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not usable or not math.isfinite(value) or (key == "scaling_factor" and value <= 0):
        raise ModelFileError(f"config.json's {key} is {ascii(value)[:40]}, not a usable number")
    return float(value)
