"""Adapter from a torch module to the :class:`~explorer.model.contract.VideoVAE` contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from explorer.errors import ExplorerError
from explorer.model.devices import resolve_device
from explorer.video.fitting import FitMode, fit_frames


class ImageAutoencoder(Protocol):
    """A module that encodes [N, 3, H, W] floats in [0, 1] and decodes back to them."""

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, latents: torch.Tensor) -> torch.Tensor: ...


class TorchVAE:
    """Wraps an image autoencoder module: batching, device, dtype and frame fitting."""

    def __init__(
        self,
        module: nn.Module,
        frame_size: tuple[int, int],
        latent_shape: tuple[int, ...],
        *,
        kind: str,
        metadata: dict[str, Any] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        fit_mode: FitMode = "crop",
        half: bool = False,
    ) -> None:
        self.module = module.eval()
        self._frame_size = (int(frame_size[0]), int(frame_size[1]))
        self._latent_shape = tuple(int(d) for d in latent_shape)
        self.kind = kind
        self.metadata = dict(metadata or {})
        self.batch_size = batch_size
        self.fit_mode: FitMode = fit_mode
        self.half = half
        """Run in float16 on CUDA (never elsewhere): for models that keep their accuracy."""
        self._device = resolve_device(device)
        self._place()

    @property
    def frame_size(self) -> tuple[int, int]:
        return self._frame_size

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return self._latent_shape

    @property
    def device(self) -> str:
        return str(self._device)

    def to(self, device: str) -> None:
        self._device = resolve_device(device)
        self._place()

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the module runs in: float16 with ``half`` on CUDA, else float32."""
        return torch.float16 if self.half and self._device.type == "cuda" else torch.float32

    def _place(self) -> None:
        # A half-precision model goes back to float32 off CUDA; others keep their dtype.
        self.module.to(self._device, self.dtype if self.half else None)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frames = _check_frames(frames)
        if frames.shape[1:3] != self._frame_size:
            frames = fit_frames(frames, self._frame_size, self.fit_mode)
        moments = [self._encode_batch(batch) for batch in _batches(frames, self.batch_size)]
        if not moments:
            empty = np.zeros((0, *self._latent_shape), np.float32)
            return empty, empty.copy()
        mu = np.concatenate([m for m, _ in moments])
        logvar = np.concatenate([v for _, v in moments])
        return mu, logvar

    def decode(self, latents: np.ndarray) -> np.ndarray:
        latents = np.asarray(latents, dtype=np.float32)
        if latents.shape[1:] != self._latent_shape:
            raise ExplorerError(
                f"latents of shape {latents.shape[1:]} do not fit this model, "
                f"which expects {self._latent_shape}"
            )
        decoded = [self._decode_batch(batch) for batch in _batches(latents, self.batch_size)]
        if not decoded:
            return np.zeros((0, *self._frame_size, 3), np.uint8)
        return np.concatenate(decoded)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "frame_size": self._frame_size,
            "latent_shape": self._latent_shape,
            "parameters": self.parameter_count,
            "device": self.device,
            **self.metadata,
        }

    @torch.inference_mode()
    def _encode_batch(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = frames_to_tensor(frames, self._device).to(self.dtype)
        mu, logvar = self.module.encode(images)
        shape = (len(frames), *self._latent_shape)
        return _to_numpy(mu).reshape(shape), _to_numpy(logvar).reshape(shape)

    @torch.inference_mode()
    def _decode_batch(self, latents: np.ndarray) -> np.ndarray:
        z = to_device(latents, self._device).to(self.dtype)
        return tensor_to_frames(self.module.decode(z))


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as a tensor on ``device``, as it is (conversions then run there).

    For CUDA it goes through pinned memory, so that the copy is asynchronous. A read-only
    array (latents mapped from a trajectory file) is copied first: torch has no read-only
    tensors, and a model that wrote into its input would fault on the file's pages.
    """
    array = np.ascontiguousarray(array)
    tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
    if device.type == "cuda":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def frames_to_tensor(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [0, 1] on ``device``."""
    return to_device(frames, device).permute(0, 3, 1, 2).float().div_(255.0)


def tensor_to_frames(images: torch.Tensor) -> np.ndarray:
    """float [N, 3, H, W] in [0, 1] -> uint8 [N, H, W, 3] on the CPU."""
    scaled = images.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ExplorerError(
            f"expected RGB uint8 frames [N, H, W, 3], got {frames.dtype} {frames.shape}"
        )
    return frames


def _batches(array: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(array), max(1, size)):
        yield array[start : start + size]
