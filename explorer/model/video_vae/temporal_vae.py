"""A video autoencoder that compresses time: clips of numpy frames in, latent steps out.

Unlike :class:`~explorer.model.contract.VideoVAE`, whose ``encode`` gives one latent a
frame, :meth:`TemporalVAE.encode_clip` gives one latent *step* for several frames
(:mod:`~explorer.model.video_vae.rule` says which), and :meth:`TemporalVAE.decode_steps`
gives the frames back. Latents are those a diffusion model sees (the family's statistics
applied, the log-variance moved by the same scale) and decoding undoes them exactly.

Windows of a long video. :meth:`TemporalVAE.encode_clip` encodes its frames as a whole
video: their first frame gets a step of its own. For a window's steps to cover the same
frames as the whole video's, a causal model's window must start on the *last* frame of a
step (frame ``k·stride``), whose lone step is then dropped;
:meth:`~explorer.model.video_vae.rule.FrameRule.windows` plans such windows, with
``context`` steps encoded before each and dropped. The kept latents still differ from the
whole video's near each window's start, for no encoder here carries its state across
calls: the causal ones (Wan, LTX-Video, Mochi, Cosmos) do not see the frames before the
window, and their receptive fields span many steps (more than 20 for Wan 2.1's
architecture), so context narrows the gap without closing it. CogVideoX normalises over
8-frame chunks counted from the clip's start and HunyuanVideo over the whole clip, so
their steps depend on later frames too. Only SVD's per-frame encoder gives exactly the
same latents in any window.

Precision. On a CUDA GPU the module runs in the 16-bit type its family's diffusers
pipelines use, where they do (:meth:`~.families.Family.dtype`; ``half_precision`` overrides
it), and always in float32 on the CPU and MPS; moving the model re-applies that rule.
Inputs are cast to the module's dtype, latent statistics are applied in float32, and
latents come back float32 whatever the module ran in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from explorer.errors import ExplorerError
from explorer.model.devices import resolve_device
from explorer.model.torch_vae import frames_to_tensor, tensor_to_frames, to_device
from explorer.model.video_vae.families import Family, Geometry, Statistics
from explorer.video.fitting import FitMode, fit_frames

CPU_NOTE = (
    "on the CPU, a video autoencoder decodes slowly: previews and exports wait on its "
    "decoder; choose a CUDA GPU in the Device menu if this machine has one"
)
"""What ``describe()`` says on the CPU, where the Model panel shows it."""


class TemporalVAE:
    """A diffusers video autoencoder behind numpy: frames uint8 ``[T, H, W, 3]`` of any
    size (fitted to :attr:`frame_size`) in, latent steps ``[S, *latent_shape]`` out."""

    def __init__(
        self,
        module: nn.Module,
        family: Family,
        geometry: Geometry,
        statistics: Statistics,
        frame_size: tuple[int, int],
        *,
        kind: str,
        metadata: dict[str, Any] | None = None,
        device: str = "cpu",
        fit_mode: FitMode = "crop",
        half_precision: bool | None = None,
    ) -> None:
        self.module = module.eval()
        self.family = family
        self.rule = geometry.rule
        self.kind = kind
        self.metadata = dict(metadata or {})
        self.fit_mode: FitMode = fit_mode
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        cells = (self.frame_size[0] // geometry.spatial, self.frame_size[1] // geometry.spatial)
        self.latent_shape: tuple[int, ...] = (geometry.channels, *cells)
        self.statistics = statistics.checked(geometry.channels)
        self.half_precision = half_precision
        """``explorer.json``'s choice of 16 bits on CUDA; None: the family's default."""
        self._device = resolve_device(device)
        self._place()

    @property
    def temporal_stride(self) -> int:
        """Frames a latent step stands for (after the first, when it is causal)."""
        return self.rule.stride

    @property
    def causal_first_frame(self) -> bool:
        """Whether the first step covers the first frame alone."""
        return self.rule.causal_first

    @property
    def window_steps(self) -> int:
        """Latent steps a window of a long video holds (about the clips the model was
        made for)."""
        return self.family.window_steps

    @property
    def device(self) -> str:
        return str(self._device)

    def to(self, device: str) -> None:
        """Move the model to ``device``, in the dtype it runs in there. Weights that ran in
        16 bits on a GPU keep their rounding when they come back to float32."""
        self._device = resolve_device(device)
        self._place()

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the module runs in on its device (:meth:`~.families.Family.dtype`)."""
        return self.family.dtype(self._device.type, self.module.config, self.half_precision)

    def _place(self) -> None:
        # A dtype only when it changes: diffusers' to() warns whenever it is given one.
        dtype = self.dtype
        self.module.to(self._device, **({} if self.module.dtype == dtype else {"dtype": dtype}))

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def steps_for(self, frames: int) -> int:
        """The latent steps a clip of ``frames`` frames makes."""
        return self.rule.steps_for(frames)

    def frames_for(self, steps: int) -> int:
        """The frames decoding ``steps`` steps yields."""
        return self.rule.frames_for(steps)

    def step_frames(self, frames: int) -> np.ndarray:
        """``[steps, 2]``: the first and last frame each step covers in a clip of
        ``frames`` frames that starts at frame 0 (padding frames are not counted)."""
        return self.rule.step_frames(frames)

    def encode_clip(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 ``[T, H, W, 3]`` -> float32 ``(mu, logvar)``, each
        ``[steps_for(T), *latent_shape]``.

        The clip is encoded as a whole video: its first frame is a video's first frame
        (see the module docstring for windows of a longer one). A clip whose length does
        not fit the rule is padded by repeating its last frame.
        """
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ExplorerError(
                f"expected RGB uint8 frames [T, H, W, 3], got {frames.dtype} {frames.shape}"
            )
        steps = self.steps_for(len(frames))
        if steps == 0:
            empty = np.zeros((0, *self.latent_shape), np.float32)
            return empty, empty.copy()
        frames = fit_frames(frames, self.frame_size, self.fit_mode)
        padding = self.rule.padded(len(frames)) - len(frames)
        if padding:
            frames = np.concatenate([frames, np.repeat(frames[-1:], padding, axis=0)])
        with torch.inference_mode():
            video = frames_to_tensor(frames, self._device).mul(2.0).sub(1.0).to(self.dtype)
            clip = video.transpose(0, 1).unsqueeze(0).contiguous()  # [1, 3, T, H, W]
            mu, logvar = (moment.float() for moment in self.family.encode(self.module, clip))
            self._check(mu, (1, self.latent_shape[0], steps, *self.latent_shape[1:]), "encoded")
            mean, std, scale = self._statistics(mu)
            mu = (mu - mean) / std * scale
            logvar = logvar + 2.0 * torch.log(scale / std)
            return _steps_first(mu), _steps_first(logvar)

    def decode_steps(self, latents: np.ndarray) -> np.ndarray:
        """float ``[S, *latent_shape]`` -> uint8 frames ``[frames_for(S), *frame_size, 3]``.

        The steps are decoded as a whole video's: for a causal model the first one gives a
        single frame. To see the ``temporal_stride`` frames step ``i`` stands for, decode
        ``latents[i - c : i + 1]`` with ``c ≥ 1`` steps of context and keep the last
        ``temporal_stride`` frames (more context, closer to decoding the whole video).
        """
        latents = np.asarray(latents, dtype=np.float32)
        if latents.shape[1:] != self.latent_shape:
            raise ExplorerError(
                f"latent steps of shape {latents.shape[1:]} do not fit this model, "
                f"which expects {self.latent_shape}"
            )
        if len(latents) == 0:
            return np.zeros((0, *self.frame_size, 3), np.uint8)
        with torch.inference_mode():
            z = to_device(latents, self._device)
            z = z.transpose(0, 1).unsqueeze(0).contiguous()  # [1, C, S, h, w]
            mean, std, scale = self._statistics(z)
            video = self.family.decode(self.module, (z / scale * std + mean).to(self.dtype))
            count = self.frames_for(len(latents))
            self._check(video, (1, 3, count, *self.frame_size), "decoded")
            return tensor_to_frames(video[0].transpose(0, 1).add(1.0).div(2.0))

    def describe(self) -> dict[str, Any]:
        """What the model says of itself; on the CPU, also a ``note`` that it is slow."""
        facts = {
            "kind": self.kind,
            "frame_size": self.frame_size,
            "latent_shape": self.latent_shape,
            "parameters": self.parameter_count,
            "device": self.device,
            "precision": str(self.dtype).removeprefix("torch."),
            "temporal_stride": self.temporal_stride,
            "causal_first_frame": self.causal_first_frame,
            "frame_rule": self.rule.describe(),
            "window_steps": self.window_steps,
            **self.metadata,
        }
        if self._device.type == "cpu":
            facts["note"] = CPU_NOTE
        return facts

    def _statistics(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean, std ``[1, C, 1, 1, 1]`` and scale as tensors beside ``like``."""
        channels = self.latent_shape[0]
        stats = self.statistics
        mean = torch.tensor(stats.mean or (0.0,) * channels, dtype=like.dtype, device=like.device)
        std = torch.tensor(stats.std or (1.0,) * channels, dtype=like.dtype, device=like.device)
        scale = torch.tensor(stats.scale, dtype=like.dtype, device=like.device)
        return mean.view(1, -1, 1, 1, 1), std.view(1, -1, 1, 1, 1), scale

    def _check(self, tensor: torch.Tensor, shape: tuple[int, ...], what: str) -> None:
        """A result of another shape means the config was read wrongly: say so in one line."""
        if tuple(tensor.shape) != shape:
            raise ExplorerError(
                f"{self.kind} {what} {list(tensor.shape)} where its config implies {list(shape)} "
                f"({self.rule.describe()}); this configuration is not supported"
            )


def _steps_first(latents: torch.Tensor) -> np.ndarray:
    """``[1, C, S, h, w]`` -> float32 numpy ``[S, C, h, w]``."""
    return latents[0].transpose(0, 1).float().contiguous().cpu().numpy()
