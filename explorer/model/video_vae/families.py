"""What differs between the diffusers video autoencoder classes.

Every class takes clips ``[B, 3, T, H, W]`` in ``[-1, 1]`` and makes latents
``[B, C, S, h, w]``; a :class:`Family` knows, for one class, the frame rule and latent
geometry its config implies, the latent statistics its diffusers pipelines apply, its
memory savers, the precision its pipelines run it in on a GPU, and the quirks of calling it.
:data:`FAMILIES` lists them by class name.

The frame rule is read from the config; :class:`~.temporal_vae.TemporalVAE` checks every
result against it, so a config this reading gets wrong fails with one line, not silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from explorer.errors import ModelFileError
from explorer.model.diffusers_vae import NO_LOGVAR
from explorer.model.video_vae.rule import FrameRule


@dataclass(frozen=True)
class Geometry:
    """The shape of a model's latents."""

    rule: FrameRule
    spatial: int
    """Frame pixels a side per latent cell."""
    channels: int


@dataclass(frozen=True)
class Statistics:
    """What turns the posterior's mean into the latents a diffusion model sees:
    ``z = (mu − mean) / std · scale``, per channel."""

    scale: float = 1.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def checked(self, channels: int) -> Statistics:
        """These statistics, or a one-line error if they cannot apply to ``channels``."""
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ModelFileError(f"its scaling_factor {self.scale} is not a positive number")
        for name, values in (("latents_mean", self.mean), ("latents_std", self.std)):
            if values is None:
                continue
            if len(values) != channels:
                raise ModelFileError(
                    f"its {name} has {len(values)} values for {channels} latent channels"
                )
            if not all(math.isfinite(v) for v in values):
                raise ModelFileError(f"its {name} holds values that are not finite numbers")
        if self.std is not None and min(self.std) <= 0:
            raise ModelFileError("its latents_std holds values that are not positive")
        return self


def _numbers(values: Any, name: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    if not isinstance(values, Sequence) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        raise ModelFileError(f"its {name} is not a list of numbers")
    return tuple(float(v) for v in values)


def _log2(value: Any, name: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise ModelFileError(f"its {name} {value!r} is not a power of two")
    return value.bit_length() - 1


def _whole_tiles(length: int, tile: int, step: int) -> int:
    """The shortest length, at least ``length``, that tiles ``step`` apart cover whole."""
    return tile + -(-max(0, length - tile) // step) * step


def _repeat_last(clip: torch.Tensor, length: int) -> torch.Tensor:
    """``clip`` ``[B, C, T, ...]`` padded to ``length`` in time by repeating its last entry."""
    extra = length - clip.shape[2]
    return torch.cat([clip, clip[:, :, -1:].expand(-1, -1, extra, -1, -1)], dim=2)


class Family:
    """A diffusers class with KL posteriors, no statistics but ``scaling_factor``, and
    ``enable_tiling`` for memory; subclasses say what differs."""

    class_name = ""
    tiles = True
    """``enable_tiling`` (and any temporal tiling) bounds its memory."""
    deterministic = False
    """Its encoder gives a point, not a distribution."""
    window_steps = 16
    """Latent steps a window of a long video holds: about the clips the class was made
    for, so memory stays that of one such clip however long the video is."""
    half: torch.dtype | None = torch.bfloat16
    """The 16-bit type its diffusers pipelines run it in on a GPU; None where it must run in
    float32 (the loader refuses ``half_precision`` for it)."""
    half_by_default = True
    """Whether they do by default (some load the VAE in float32 beside a 16-bit
    transformer)."""

    def dtype(self, device_type: str, config: Mapping[str, Any],
              half_precision: bool | None = None) -> torch.dtype:
        """The dtype to run in on a ``device_type`` (``cuda``, ``cpu``, ``mps``) device.

        On CUDA: :attr:`half` where its pipelines use it and the config does not say
        ``force_upcast`` (CogVideoX's and SVD's configs do, by their classes' default),
        or where ``half_precision`` (``explorer.json``'s) asks, either way; else float32.
        The CPU and MPS always run float32, as for image autoencoders.
        """
        if device_type != "cuda" or self.half is None:
            return torch.float32
        if half_precision is None:
            half_precision = self.half_by_default and not config.get("force_upcast", False)
        return self.half if half_precision else torch.float32

    def geometry(self, module: nn.Module) -> Geometry:
        raise NotImplementedError

    def statistics(self, module: nn.Module) -> Statistics:
        return Statistics(scale=float(module.config.get("scaling_factor") or 1.0))

    def frame_size(self, module: nn.Module, size: tuple[int, int]) -> tuple[int, int]:
        """The frame size to run at, given ``size`` (a multiple of the spatial compression)."""
        return size

    def limit_memory(self, module: nn.Module, tiling: bool) -> None:
        """Tile (spatially, and temporally where the class can) only when asked: tiles are
        blended at their seams, so tiled latents differ a little from whole ones."""
        if tiling:
            module.enable_tiling()

    def encode(self, module: nn.Module, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``[1, C, S, h, w]`` of a clip ``[1, 3, T, H, W]``."""
        posterior = module.encode(video).latent_dist
        return posterior.mean, posterior.logvar

    def decode(self, module: nn.Module, latents: torch.Tensor) -> torch.Tensor:
        """The clip ``[1, 3, T, H, W]`` in about ``[-1, 1]`` that latents decode to."""
        return module.decode(latents).sample


class Wan(Family):
    """Wan 2.1 and 2.2: a causal encoder and decoder run chunk by chunk (1 frame, then 4 at
    a time) with a cache of the previous chunk's features, so memory stays flat in time.
    Its pipelines normalise latents by ``latents_mean`` and ``latents_std`` per channel."""

    class_name = "AutoencoderKLWan"
    window_steps = 21  # Wan's 81-frame clips
    half_by_default = False  # diffusers' Wan examples load the VAE in float32, the rest bf16

    def geometry(self, module: nn.Module) -> Geometry:
        config = module.config
        stride = 2 ** sum(bool(t) for t in config.temperal_downsample)
        if stride != 4:
            # The encoder cuts clips into the first frame and groups of 4, whatever the config.
            raise ModelFileError(
                f"it compresses time {stride}×; Wan's encoder works in groups of 4 frames, "
                "so only 4× (two temperal_downsample stages) is supported"
            )
        spatial = 2 ** (len(config.dim_mult) - 1) * (config.patch_size or 1)
        return Geometry(FrameRule(stride, causal_first=True), spatial, config.z_dim)

    def statistics(self, module: nn.Module) -> Statistics:
        config = module.config
        return Statistics(
            mean=_numbers(config.latents_mean, "latents_mean"),
            std=_numbers(config.latents_std, "latents_std"),
        )


class CogVideoX(Family):
    """CogVideoX: encodes 8 frames at a time and decodes 2 steps at a time, each chunk with
    a cache of the previous one's convolutions. Its group norms pool over a chunk's frames,
    so a step depends on the frames of its chunk, and chunks are counted from the clip's
    start. The decoder gives a single first frame only when the steps are odd in number,
    so an even count is decoded with its last step repeated and the extra frames cut."""

    class_name = "AutoencoderKLCogVideoX"
    window_steps = 13  # CogVideoX's 49-frame clips
    # Its pipelines run it in bf16 (5B) or fp16 (2B), but its configs say force_upcast: it
    # runs in bfloat16 (either checkpoint's range) only where half_precision asks.

    def geometry(self, module: nn.Module) -> Geometry:
        config = module.config
        levels = len(config.block_out_channels) - 1
        time = _log2(config.temporal_compression_ratio, "temporal_compression_ratio")
        return Geometry(
            FrameRule(2 ** min(time, levels), causal_first=True), 2**levels,
            config.latent_channels,
        )

    def decode(self, module: nn.Module, latents: torch.Tensor) -> torch.Tensor:
        steps = latents.shape[2]
        if steps % 2:
            return module.decode(latents).sample
        padded = torch.cat([latents, latents[:, :, -1:]], dim=2)
        frames = self.geometry(module).rule.frames_for(steps)
        return module.decode(padded).sample[:, :, :frames]


class LTXVideo(Family):
    """LTX-Video: a causal encoder and a non-causal decoder, whole clips at once unless
    tiled (then 16-frame tiles, blended). Its pipelines normalise latents by the
    ``latents_mean`` and ``latents_std`` buffers stored with the weights and by
    ``scaling_factor``; a timestep-conditioned decoder decodes at timestep 0, with no
    noise, as the pipelines do by default."""

    class_name = "AutoencoderKLLTXVideo"

    def geometry(self, module: nn.Module) -> Geometry:
        return Geometry(
            FrameRule(int(module.temporal_compression_ratio), causal_first=True),
            int(module.spatial_compression_ratio), module.config.latent_channels,
        )

    def statistics(self, module: nn.Module) -> Statistics:
        return Statistics(
            scale=float(module.config.scaling_factor or 1.0),
            mean=tuple(module.latents_mean.float().tolist()),
            std=tuple(module.latents_std.float().tolist()),
        )

    def limit_memory(self, module: nn.Module, tiling: bool) -> None:
        super().limit_memory(module, tiling)
        module.use_framewise_encoding = module.use_framewise_decoding = tiling

    def decode(self, module: nn.Module, latents: torch.Tensor) -> torch.Tensor:
        timestep = None
        if module.config.timestep_conditioning:
            timestep = torch.zeros(len(latents), device=latents.device, dtype=latents.dtype)
        return module.decode(latents, timestep).sample


class HunyuanVideo(Family):
    """HunyuanVideo: causal 3-D convolutions over whole clips, or 16-frame tiles blended
    when tiled (diffusers tiles in time by default; here only when asked)."""

    class_name = "AutoencoderKLHunyuanVideo"
    half = torch.float16  # as diffusers' HunyuanVideo examples load its VAE

    def geometry(self, module: nn.Module) -> Geometry:
        return Geometry(
            FrameRule(int(module.temporal_compression_ratio), causal_first=True),
            int(module.spatial_compression_ratio), module.config.latent_channels,
        )

    def limit_memory(self, module: nn.Module, tiling: bool) -> None:
        super().limit_memory(module, tiling)
        module.use_framewise_encoding = module.use_framewise_decoding = tiling


class Mochi(Family):
    """Mochi 1: 6 frames a step; its encoder attends over the whole clip, so it cannot
    encode frame by frame (tiling is spatial only). Its decoder makes 6 frames of the
    first step and drops 5, so that step stands for the first frame. Its pipelines
    normalise latents by ``latents_mean``, ``latents_std`` and ``scaling_factor``."""

    class_name = "AutoencoderKLMochi"
    # Genmo's implementation runs its VAE in float32, and must: its encoder's first layer
    # takes sines of the frames times up to 2π·128, a phase that frames rounded to 16 bits
    # lose (its latents then differ wholly). MochiPipeline decodes only, in bf16.
    half = None

    def geometry(self, module: nn.Module) -> Geometry:
        return Geometry(
            FrameRule(int(module.temporal_compression_ratio), causal_first=True),
            int(module.spatial_compression_ratio), module.config.latent_channels,
        )

    def statistics(self, module: nn.Module) -> Statistics:
        config = module.config
        return Statistics(
            scale=float(config.scaling_factor or 1.0),
            mean=_numbers(config.latents_mean, "latents_mean"),
            std=_numbers(config.latents_std, "latents_std"),
        )


class Cosmos(Family):
    """Cosmos: a deterministic causal autoencoder, whose log-variance is reported as
    :data:`~explorer.model.diffusers_vae.NO_LOGVAR`, as for deterministic image models.
    Its ``latents_mean`` and ``latents_std`` are per channel *and per step position*
    within a clip of at most 16 steps, and its pipelines also multiply by their scheduler's
    ``sigma_data``, which the VAE folder does not hold: the latents here are the raw ones,
    so that a step's latent does not depend on where its window started. It has no memory
    savers: whole windows run at once."""

    class_name = "AutoencoderKLCosmos"
    tiles = False
    deterministic = True

    def geometry(self, module: nn.Module) -> Geometry:
        config = module.config
        return Geometry(
            FrameRule(int(config.temporal_compression_ratio), causal_first=True),
            int(config.spatial_compression_ratio), config.latent_channels,
        )

    def statistics(self, module: nn.Module) -> Statistics:
        return Statistics()

    def limit_memory(self, module: nn.Module, tiling: bool) -> None:
        """Nothing to limit: diffusers' Cosmos ignores tiling flags when it encodes."""

    def encode(self, module: nn.Module, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = module.encode(video).latent_dist.mode()
        return mean, torch.full_like(mean, NO_LOGVAR)


class Allegro(Family):
    """Allegro: diffusers implements it only as overlapping tiles (untiled, it raises), of
    24 frames every 16 and of ``sample_size`` pixels every ``sample_size`` − 120 down and
    − 80 across, encoded one at a time and blended where they overlap. Its steps are not
    causal: each covers 4 frames. Frames and pixels past the last whole tile are left zero,
    so frames are fitted to whole tiles, a clip is padded with its last frame to the frames
    whole tiles cover and the steps past it dropped, and latents are padded with their last
    step to the steps whole tiles cover and the frames past theirs cut. Its pipeline
    divides latents by ``scaling_factor``."""

    class_name = "AutoencoderKLAllegro"
    tiles = False  # always tiled: there is nothing for "tiling" to turn on
    window_steps = 21
    """With the window's one step of context, 22 steps: 88 frames, Allegro's clips, which
    are whole tiles (24 + 4 × 16)."""
    half_by_default = False  # diffusers' Allegro example loads the VAE in float32, the rest bf16

    def geometry(self, module: nn.Module) -> Geometry:
        config = module.config
        spatial = int(module.spatial_compression_ratio)
        stride = 2 ** _log2(config.temporal_compression_ratio, "temporal_compression_ratio")
        encoder, decoder = (2 ** sum(bool(b) for b in config[name]) for name in
                            ("temporal_downsample_blocks", "temporal_upsample_blocks"))
        tile, step = module.kernel[0], module.stride[0]
        if not stride == encoder == decoder or tile % stride or step % stride:
            raise ModelFileError(
                f"its temporal_compression_ratio is {stride}, its encoder compresses time "
                f"{encoder}× and its decoder {decoder}×; Allegro's tiles ({tile} frames, "
                f"{step} apart) need one ratio that divides both"
            )
        size = config.sample_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % spatial:
            raise ModelFileError(
                f"its sample_size {size!r} is not a multiple of its {spatial}× spatial compression"
            )
        if 0 in module.stride:
            raise ModelFileError(f"its sample_size {size} leaves its tiles no room to step")
        return Geometry(FrameRule(stride, causal_first=False), spatial, config.latent_channels)

    def frame_size(self, module: nn.Module, size: tuple[int, int]) -> tuple[int, int]:
        """``size`` rounded down to whole tiles, at least one: one tile only where tiles
        cannot step by whole latent cells (``sample_size`` under 120 px down, 80 across)."""
        spatial = int(module.spatial_compression_ratio)
        height, width = (
            tile + (max(0, side - tile) // step * step if step > 0 and step % spatial == 0 else 0)
            for side, tile, step in zip(size, module.kernel[1:], module.stride[1:], strict=True)
        )
        return height, width

    def limit_memory(self, module: nn.Module, tiling: bool) -> None:
        """Tiles, one at a time, whatever ``tiling`` says: its only implementation."""
        module.enable_tiling()

    def encode(self, module: nn.Module, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = video.shape[2]
        padded = _repeat_last(video, _whole_tiles(frames, module.kernel[0], module.stride[0]))
        posterior = module.encode(padded).latent_dist
        steps = self.geometry(module).rule.steps_for(frames)
        return posterior.mean[:, :, :steps], posterior.logvar[:, :, :steps]

    def decode(self, module: nn.Module, latents: torch.Tensor) -> torch.Tensor:
        rule = self.geometry(module).rule
        steps = latents.shape[2]
        tile, step = module.kernel[0] // rule.stride, module.stride[0] // rule.stride
        video = module.decode(_repeat_last(latents, _whole_tiles(steps, tile, step))).sample
        # diffusers' tiled decoder gives [B, T, 3, H, W], as the pipeline wants it.
        return video.transpose(1, 2)[:, :, : rule.frames_for(steps)]


class TemporalDecoder(Family):
    """Stable Video Diffusion's VAE: an image encoder, one step a frame, and a decoder
    whose temporal layers mix all the steps decoded together (a whole window here). Frames
    are encoded :data:`FRAMES_PER_BATCH` at a time, which changes nothing but memory."""

    class_name = "AutoencoderKLTemporalDecoder"
    tiles = False
    half = torch.float16  # its pipeline's fp16 weights
    FRAMES_PER_BATCH = 8

    def geometry(self, module: nn.Module) -> Geometry:
        config = module.config
        spatial = 2 ** (len(config.block_out_channels) - 1)
        return Geometry(FrameRule(1, causal_first=False), spatial, config.latent_channels)

    def limit_memory(self, module: nn.Module, tiling: bool) -> None:
        """Nothing to limit beyond encoding a few frames at a time."""

    def encode(self, module: nn.Module, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = video[0].transpose(0, 1)  # [T, 3, H, W]
        batches = images.split(self.FRAMES_PER_BATCH)
        moments = [module.encode(batch).latent_dist for batch in batches]
        mean = torch.cat([m.mean for m in moments]).transpose(0, 1)[None]
        logvar = torch.cat([m.logvar for m in moments]).transpose(0, 1)[None]
        return mean, logvar

    def decode(self, module: nn.Module, latents: torch.Tensor) -> torch.Tensor:
        steps = latents[0].transpose(0, 1)  # [S, C, h, w]
        return module.decode(steps, num_frames=len(steps)).sample.transpose(0, 1)[None]


FAMILIES: dict[str, Family] = {
    family.class_name: family
    for family in (Wan(), CogVideoX(), LTXVideo(), HunyuanVideo(), Mochi(), Cosmos(),
                   Allegro(), TemporalDecoder())
}
