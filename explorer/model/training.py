"""Training the built-in β-VAE on one video.

Frames are streamed from the video, fitted to the model's square input and appended to a
disk-backed array in a temporary folder, so memory holds only the current batch however
long the video is. Every tenth frame is held out to measure reconstruction PSNR on frames
the model never trained on.

Progress is reported through ``on_event`` (the CLI draws a tqdm bar from it, the GUI a
live loss curve) and ``should_stop`` is polled between steps. Ctrl-C (KeyboardInterrupt)
is treated like a stop request: training ends and the weights of the last completed epoch
are returned, so the caller can still save a good checkpoint.

A loss, weights or reconstructions that stop being finite (too large a learning rate or β)
end training with a one-line :class:`~explorer.errors.ExplorerError` instead: nothing is
returned, so no model full of NaNs can be saved.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer.errors import Cancelled, ExplorerError
from explorer.model.beta_vae import BetaVAE, BetaVAEConfig, beta_vae_loss
from explorer.model.devices import resolve_device
from explorer.model.torch_vae import TorchVAE, frames_to_tensor
from explorer.video.fitting import FitMode
from explorer.video.reader import open_video

HOLDOUT_EVERY = 10
MIN_FRAMES_FOR_HOLDOUT = 20


@dataclass(frozen=True)
class TrainSettings:
    image_size: int = 64
    latent_dim: int = 16
    beta: float = 1.0
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    max_frames: int | None = None
    seed: int = 0
    device: str = "auto"
    fit_mode: FitMode = "crop"


@dataclass(frozen=True)
class FramesRead:
    """A batch of frames has been read and fitted; ``count`` so far."""

    count: int


@dataclass(frozen=True)
class StepDone:
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    reconstruction: float
    kl: float


@dataclass(frozen=True)
class EpochDone:
    epoch: int
    epochs: int
    loss: float
    reconstruction: float
    kl: float
    holdout_psnr: float


TrainEvent = FramesRead | StepDone | EpochDone


@dataclass
class TrainResult:
    vae: TorchVAE
    history: list[EpochDone]
    epochs_completed: int
    stopped_early: bool
    record: dict[str, Any] = field(default_factory=dict)
    """The training record stored in the model file's metadata."""


def train_beta_vae(
    video: str | os.PathLike[str],
    settings: TrainSettings,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a β-VAE on the frames of ``video``; see the module docstring."""
    emit = on_event or (lambda _event: None)
    stop = should_stop or (lambda: False)
    config = BetaVAEConfig(image_size=settings.image_size, latent_dim=settings.latent_dim)
    device = resolve_device(settings.device)
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="explorer-train-") as scratch:
        frames = _read_fitted_frames(video, settings, Path(scratch), emit, stop)
        train_index, holdout_index = split_holdout(len(frames))
        _seed_everything(settings.seed)
        module = BetaVAE(config).to(device)
        optimizer = torch.optim.Adam(module.parameters(), lr=settings.learning_rate)
        rng = np.random.default_rng(settings.seed)
        steps_per_epoch = math.ceil(len(train_index) / settings.batch_size)

        history: list[EpochDone] = []
        best_state = _snapshot(module)
        stopped_early = False
        try:
            for epoch in range(1, settings.epochs + 1):
                order = rng.permutation(train_index)
                totals = np.zeros(3)
                module.train()
                for step, start in enumerate(range(0, len(order), settings.batch_size), 1):
                    if stop():
                        raise Cancelled("training stopped")
                    batch = np.sort(order[start : start + settings.batch_size])
                    images = frames_to_tensor(frames[batch], device)
                    reconstruction, mu, logvar = module(images)
                    terms = beta_vae_loss(images, reconstruction, mu, logvar, settings.beta)
                    optimizer.zero_grad(set_to_none=True)
                    terms.total.backward()
                    optimizer.step()
                    values = (terms.total.item(), terms.reconstruction.item(), terms.kl.item())
                    if not math.isfinite(values[0]):
                        raise _diverged(f"epoch {epoch}, step {step}: the loss is {values[0]}",
                                        settings)
                    totals += np.array(values) * len(batch)
                    emit(StepDone(epoch, settings.epochs, step, steps_per_epoch, *values))
                means = totals / len(train_index)
                psnr = holdout_psnr(module, frames, holdout_index, device)
                if not (math.isfinite(psnr) and _finite(module)):
                    # the last step can break the weights after its loss was measured
                    raise _diverged(f"epoch {epoch}: the weights or reconstructions are NaN "
                                    "or infinite", settings)
                history.append(EpochDone(epoch, settings.epochs, *means, psnr))
                best_state = _snapshot(module)
                emit(history[-1])
        except (Cancelled, KeyboardInterrupt):
            stopped_early = True
        module.load_state_dict(best_state)
        module.eval()
        frame_count = len(frames)
        del frames  # release the memory map before its folder is removed

    record = _training_record(video, settings, history, frame_count, len(holdout_index))
    record["seconds"] = round(time.monotonic() - started, 1)
    record["stopped_early"] = stopped_early
    vae = TorchVAE(
        module,
        (config.image_size, config.image_size),
        (config.latent_dim,),
        kind="β-VAE (built-in)",
        metadata={"training": record, "architecture": config.to_dict()},
        device=str(device),
    )
    return TrainResult(vae, history, len(history), stopped_early, record)


def split_holdout(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices for training and for held-out evaluation (every tenth frame).

    Very short clips keep every frame for training and are evaluated on them too.
    """
    indices = np.arange(count)
    if count < MIN_FRAMES_FOR_HOLDOUT:
        return indices, indices
    held = indices % HOLDOUT_EVERY == HOLDOUT_EVERY // 2
    return indices[~held], indices[held]


@torch.inference_mode()
def holdout_psnr(
    module: BetaVAE, frames: np.ndarray, indices: np.ndarray, device: torch.device
) -> float:
    """Mean PSNR (dB) of the mean reconstruction of ``frames[indices]``."""
    module.eval()
    scores = []
    for start in range(0, len(indices), 64):
        images = frames_to_tensor(frames[indices[start : start + 64]], device)
        mu, _ = module.encode(images)
        mse = (module.decode(mu) - images).pow(2).flatten(1).mean(dim=1)
        scores.append((10 * torch.log10(1.0 / mse.clamp_min(1e-10))).cpu().numpy())
    return float(np.concatenate(scores).mean())


def _read_fitted_frames(
    video: str | os.PathLike[str],
    settings: TrainSettings,
    scratch: Path,
    emit: Callable[[TrainEvent], None],
    stop: Callable[[], bool],
) -> np.ndarray:
    """Stream the video into a disk-backed uint8 array of fitted frames."""
    size = (settings.image_size, settings.image_size)
    raw = scratch / "frames.u8"
    count = 0
    with open_video(video) as reader, open(raw, "wb") as sink:
        frames = reader.frames(
            max_frames=settings.max_frames, size=size, fit_mode=settings.fit_mode
        )
        for _, frame in frames:
            if stop():
                raise Cancelled("training stopped while reading frames")
            sink.write(frame.tobytes())
            count += 1
            if count % 32 == 0:
                emit(FramesRead(count))
    if count == 0:
        raise ExplorerError(f"{video} has no frames to train on")
    emit(FramesRead(count))
    return np.memmap(raw, dtype=np.uint8, mode="r", shape=(count, *size, 3))


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _diverged(where: str, settings: TrainSettings) -> ExplorerError:
    """The one-line error for a loss or weights that stopped being finite; nothing is kept.

    Plain Adam on this model diverges from too large a step or KL weight, so both are named.
    """
    return ExplorerError(
        f"training diverged at {where} (learning rate {settings.learning_rate:g}, "
        f"β {settings.beta:g}); try a smaller --learning-rate (default 0.001) or --beta"
    )


def _finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(tensor).all()) for tensor in module.state_dict().values())


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


def _training_record(
    video: str | os.PathLike[str],
    settings: TrainSettings,
    history: list[EpochDone],
    frame_count: int,
    holdout_count: int,
) -> dict[str, Any]:
    last = history[-1] if history else None
    return {
        "source_video": Path(video).name,
        "settings": asdict(settings),
        "frames": frame_count,
        "holdout_frames": holdout_count,
        "epochs_completed": len(history),
        "final_loss": last.loss if last else None,
        "final_reconstruction": last.reconstruction if last else None,
        "final_kl": last.kl if last else None,
        "holdout_psnr_db": last.holdout_psnr if last else None,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
