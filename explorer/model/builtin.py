"""The built-in models as the app sees them: a :class:`TorchVAE` that also says its family
and, for a VQ-VAE, its codebook (the facts ``describe()`` gives the Model panel and
``explorer info``), counts the codes a video uses and can decode without snapping."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explorer.model.beta_vae import BetaVAE, fold_for_inference
from explorer.model.conv_vae import FAMILY_NAMES, ConvVAE
from explorer.model.torch_vae import TorchVAE, to_device


class BuiltinVAE(TorchVAE):
    """A trained :class:`BetaVAE` (version 1) or :class:`ConvVAE` (version 2)."""

    module: BetaVAE | ConvVAE

    @property
    def family(self) -> str:
        return getattr(self.module.config, "family", "vae")

    @property
    def quantize(self) -> bool:
        """Whether decoding snaps latents to the codebook (a VQ-VAE's switch)."""
        return getattr(self.module, "quantize", True)

    @quantize.setter
    def quantize(self, value: bool) -> None:
        if isinstance(self.module, ConvVAE):
            self.module.quantize = bool(value)

    def _place(self) -> None:
        super()._place()
        fold_for_inference(self.module)  # on the loading thread, not in the first preview

    def describe(self) -> dict[str, Any]:
        facts = {**super().describe(), "family": self.family}
        config = self.module.config
        if isinstance(self.module, ConvVAE) and config.deterministic:
            facts["deterministic"] = True
        if isinstance(self.module, ConvVAE) and self.module.codebook is not None:
            facts["codebook_size"] = config.codebook_size
            facts["quantize"] = self.quantize
        return facts



class BuiltinVQVAE(BuiltinVAE):
    """A built-in VQ-VAE: it can count the codebook entries a video's latents use."""

    module: ConvVAE

    def codes_used(self, latents: np.ndarray) -> int:
        """How many codebook entries ``latents`` [N, latent_dim] snap to."""
        codebook = self.module.codebook
        used = torch.zeros(codebook.embedding.shape[0], dtype=torch.bool)
        flat = np.asarray(latents, np.float32).reshape(len(latents), -1)
        with torch.inference_mode():
            for start in range(0, len(flat), 4096):
                chunk = to_device(flat[start : start + 4096], self._device)
                used[codebook.nearest(chunk).flatten().cpu()] = True
        return int(used.sum())


def builtin_vae(module: BetaVAE | ConvVAE, metadata: dict[str, Any], device: str) -> BuiltinVAE:
    """``module`` wrapped for the app, named after its family."""
    config = module.config
    family = getattr(config, "family", "vae")
    wrapper = BuiltinVQVAE if family == "vq-vae" else BuiltinVAE
    return wrapper(
        module,
        (config.image_size, config.image_size),
        getattr(config, "latent_shape", (config.latent_dim,)),
        kind=f"{FAMILY_NAMES[family]} (built-in)",
        metadata=metadata,
        device=device,
    )
