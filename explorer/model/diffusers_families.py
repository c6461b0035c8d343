"""The diffusers image autoencoders Latent Explorer opens: one row per class.

A row says all that differs between the classes: which field of ``encode``'s output holds
the latents (a Gaussian posterior, ``latent_dist``, or a plain tensor for a deterministic
autoencoder), which config keys give the spatial downsampling factor and the latent
channels, whether the config's ``scaling_factor`` and ``shift_factor`` apply, and whether
decoding goes through a vector quantiser. Everything else (reading the folder, the safety
checks, frame sizes, batching) is the same for every class.

Classes diffusers ships that are left out, and why, are listed in ``docs/models.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.errors import ModelFileError

Config = Mapping[str, Any]


@dataclass(frozen=True)
class ImageFamily:
    """How one diffusers image autoencoder class encodes and decodes."""

    class_name: str
    output: str
    """The field of ``encode``'s output that holds the latents: ``latent_dist`` (a Gaussian,
    whose mean is mapped) or a tensor (``latents``, ``latent``) of a deterministic model."""
    downsampling: Callable[[Config], int]
    """The spatial factor between frames and latents, from the (completed) config."""
    channels: Callable[[Config], int]
    """The latent channels, from the (completed) config."""
    scaled: bool = True
    """Whether the config's ``scaling_factor`` and ``shift_factor`` (where it has them)
    apply: latents are then on the scale a diffusion model is trained on."""
    quantised: bool = False
    """Whether ``decode`` goes through a vector quantiser (it can be bypassed)."""

    @property
    def deterministic(self) -> bool:
        """A plain autoencoder: its encoder gives a point, not a distribution."""
        return self.output != "latent_dist"

    def latent_shape(self, config: Config, frame_size: tuple[int, int]) -> tuple[int, int, int]:
        """``channels × height/f × width/f`` for frames of ``frame_size`` (multiples of f)."""
        factor = self.downsampling(config)
        return (self.channels(config), frame_size[0] // factor, frame_size[1] // factor)


def _halvings(key: str) -> Callable[[Config], int]:
    """Every block but the last halves the frame: ``2 ** (len(config[key]) - 1)``."""
    return lambda config: 2 ** (len(config[key]) - 1)


def _key(name: str) -> Callable[[Config], int]:
    return lambda config: int(config[name])


def _hunyuan_downsampling(config: Config) -> int:
    # A block downsamples while the ratio asks for more and it is not the last block.
    steps = math.ceil(math.log2(max(1, config["spatial_compression_ratio"])))
    return 2 ** min(len(config["block_out_channels"]) - 1, steps)


def _vq_channels(config: Config) -> int:
    # The encoder's output goes through quant_conv to the codebook's width.
    return int(config.get("vq_embed_dim") or config["latent_channels"])


IMAGE_FAMILIES: dict[str, ImageFamily] = {
    family.class_name: family
    for family in (
        ImageFamily("AutoencoderKL", "latent_dist",
                    _halvings("block_out_channels"), _key("latent_channels")),
        ImageFamily("AsymmetricAutoencoderKL", "latent_dist",
                    _halvings("down_block_out_channels"), _key("latent_channels")),
        ImageFamily("AutoencoderKLFlux2", "latent_dist",
                    _halvings("block_out_channels"), _key("latent_channels")),
        ImageFamily("AutoencoderKLHunyuanImage", "latent_dist",
                    _hunyuan_downsampling, _key("latent_channels")),
        ImageFamily("AutoencoderKLKVAE", "latent_dist",
                    _halvings("ch_mult"), _key("z_channels")),
        ImageFamily("AutoencoderTiny", "latents",
                    _halvings("encoder_block_out_channels"), _key("latent_channels")),
        ImageFamily("AutoencoderDC", "latent",
                    _halvings("encoder_block_out_channels"), _key("latent_channels")),
        # A VQModel's scaling_factor defaults to Stable Diffusion's 0.18215 whether or not
        # it was trained with one, and Kandinsky decodes its latents unscaled: none applies.
        ImageFamily("VQModel", "latents",
                    _halvings("block_out_channels"), _vq_channels, scaled=False, quantised=True),
    )
}
SUPPORTED = tuple(IMAGE_FAMILIES)


def image_family(class_name: object, folder: Path) -> ImageFamily:
    """The row for ``class_name`` (a config's ``_class_name``), or a one-line error
    naming the classes that open."""
    if isinstance(class_name, str) and class_name in IMAGE_FAMILIES:
        return IMAGE_FAMILIES[class_name]
    if class_name is None:
        what = "model of unknown class (its config.json has no _class_name)"
    elif isinstance(class_name, str) and class_name.isidentifier():
        what = class_name
    else:  # ascii() keeps a hostile name on one line
        what = f"model of class {ascii(class_name)[:80]}"
    raise ModelFileError(
        f"{folder} holds a diffusers {what}, which Latent Explorer cannot open; "
        f"it opens {', '.join(SUPPORTED)}"
    )
