"""Training the built-in models (:mod:`explorer.model.conv_vae`) on one video.

The recipe, measured on the clips of ``../shared/media`` (docs in ``TrainSettings``): the
version-3 network, which starts as PCA of the training frames (its linear path) and learns
what PCA misses (its convolutional network, whose contributions start at zero); AdamW under a
one-cycle learning-rate schedule (warm-up, then cosine decay); for the VAE families a KL
term with free bits, so that each latent may carry a few nats before it is charged; and the
epoch with the best held-out PSNR is the one kept. Before training, PCA with as many
components as latents is fitted to the same frames (:mod:`explorer.model.baseline`): its
held-out PSNR is the figure to beat, reported beside the model's and stored with it.

Frames are streamed from the video, fitted to the model's square input and appended to a
disk-backed array in a temporary folder, so memory holds only the current batch however
long the video is. Every tenth frame is held out to measure reconstruction PSNR on frames
the model never trained on.

Progress is reported through ``on_event`` (the CLI draws a tqdm bar from it, the GUI a
live loss curve) and ``should_stop`` is polled between steps. Ctrl-C (KeyboardInterrupt)
is treated like a stop request: training ends and the weights of the best completed epoch
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
from explorer.model.adversarial import Adversary
from explorer.model.baseline import FramePCA, fit_frame_pca, fit_patch_pca
from explorer.model.beta_vae import LossTerms, beta_vae_loss, reconstruction_loss
from explorer.model.builtin import BuiltinVAE, builtin_vae
from explorer.model.conv_vae import ConvVAE, ConvVAEConfig, Family
from explorer.model.devices import resolve_device
from explorer.model.torch_vae import ImageAutoencoder, frames_to_tensor
from explorer.video.fitting import FitMode
from explorer.video.reader import open_video

HOLDOUT_EVERY = 10
MIN_FRAMES_FOR_HOLDOUT = 20
WARMUP_FRACTION = 0.1
"""The share of steps over which the learning rate rises to its peak (:func:`one_cycle`)."""
WEIGHT_DECAY = 1e-4
STEP_BUDGET = 1200
"""The default length of training in optimiser steps: 80 epochs of a 250-frame clip in
batches of 16, about 3.5 minutes on a 2-core CPU (:func:`default_epochs`). 900 steps
(2.5 minutes) left bikes.mp4, chaplin.mp4 and carphone_pristine.mp4 2.62, 2.83 and 2.19 dB
over PCA; 1,350 steps 3.1, 3.6 and 2.9."""
MIN_EPOCHS = 45
"""A longer clip trains for at least this many epochs, up to :data:`MAX_STEPS`: 900 steps
were 22 epochs of 30 s of Big Buck Bunny, 1.3 dB over PCA; 30 epochs were 1.8 dB."""
MAX_STEPS = 2700
"""About 9 minutes on a 2-core CPU, whatever the clip's length."""
LINEAR_PATH_RATE = 0.04
"""The linear path's learning rate as a share of the network's (:func:`_parameter_groups`)."""


@dataclass(frozen=True)
class TrainSettings:
    """What ``explorer train`` and the training window choose; the defaults are the recipe."""

    image_size: int = 64
    latent_dim: int = 16
    latent_grid: int = 0
    """Spatial latents: ``latent_dim / latent_grid²`` channels on a square grid; 0 for a
    latent vector (with a linear path started at PCA)."""
    beta: float = 1.0
    epochs: int | None = None
    """Passes over the training frames; None for :func:`default_epochs`."""
    batch_size: int = 16
    learning_rate: float = 5e-4
    """The peak of the one-cycle schedule (the network's; see :data:`LINEAR_PATH_RATE`)."""
    max_frames: int | None = None
    seed: int = 0
    device: str = "auto"
    fit_mode: FitMode = "crop"
    family: Family = "vae"
    free_bits: float = 4.0
    """Nats of KL per latent that cost nothing (VAE families): without them the KL term
    keeps the posterior too vague to reconstruct real video better than PCA."""
    codebook_size: int = 512
    code_dim: int = 4

    def network(self) -> ConvVAEConfig:
        """The network these settings train; one line if they do not describe one."""
        quantised = self.family == "vq-vae"
        try:
            return ConvVAEConfig(
                image_size=self.image_size,
                latent_dim=self.latent_dim,
                family=self.family,
                linear_path=True,
                latent_grid=self.latent_grid,
                codebook_size=self.codebook_size if quantised else 0,
                code_dim=self.code_dim if quantised else 0,
            )
        except ValueError as exc:
            raise ExplorerError(f"cannot train this model: {exc}") from None


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
    kept_epoch: int
    """The epoch whose weights training keeps so far; 0 for the untrained (PCA) start."""
    kept_psnr: float


@dataclass(frozen=True)
class BaselineReady:
    """The held-out PSNR of PCA with ``components`` components: the figure to beat."""

    pca_psnr_db: float
    components: int
    held_out: bool = True
    """False for a clip too short to hold frames out: both are scored on the training
    frames (:func:`split_holdout`)."""


TrainEvent = FramesRead | BaselineReady | StepDone | EpochDone


@dataclass
class TrainResult:
    vae: BuiltinVAE
    history: list[EpochDone]
    epochs_completed: int
    stopped_early: bool
    record: dict[str, Any] = field(default_factory=dict)
    """The training record stored in the model file's metadata."""


@dataclass(frozen=True)
class _Split:
    frames: np.ndarray
    train: np.ndarray
    holdout: np.ndarray


def train_beta_vae(
    video: str | os.PathLike[str],
    settings: TrainSettings,
    on_event: Callable[[TrainEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train a built-in model of ``settings.family`` on the frames of ``video``; see the
    module docstring."""
    emit = on_event or (lambda _event: None)
    stop = should_stop or (lambda: False)
    config = settings.network()
    device = resolve_device(settings.device)
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="explorer-train-") as scratch:
        frames = _read_fitted_frames(video, settings, Path(scratch), emit, stop)
        split = _Split(frames, *split_holdout(len(frames)))
        baseline = fit_frame_pca(frames, split.train, settings.latent_dim)
        pca = baseline.holdout_psnr(frames, split.holdout)
        emit(BaselineReady(pca, settings.latent_dim, held_out=len(split.holdout) < len(frames)))
        _seed_everything(settings.seed)
        module = ConvVAE(config)
        module.start_from_pca(*_linear_start(config, frames, split.train, baseline))
        module.to(device)
        history, kept, stopped_early = _Trainer(module, split, settings, device, emit,
                                                stop).run()
        counts = {"frames": len(frames), "holdout_frames": len(split.holdout)}
        del frames, split  # release the memory map before its folder is removed

    record = {
        **_training_record(video, settings, history, kept),
        **counts,
        "pca_psnr_db": pca,
        "pca_components": settings.latent_dim,
        "seconds": round(time.monotonic() - started, 1),
        "stopped_early": stopped_early,
    }
    vae = builtin_vae(module, {"training": record, "architecture": config.to_dict()}, str(device))
    return TrainResult(vae, history, len(history), stopped_early, record)


class _Trainer:
    """The loop: epochs of shuffled batches, the held-out PSNR after each, the best kept."""

    def __init__(
        self,
        module: ConvVAE,
        split: _Split,
        settings: TrainSettings,
        device: torch.device,
        emit: Callable[[TrainEvent], None],
        stop: Callable[[], bool],
    ) -> None:
        self.module, self.split, self.settings, self.device = module, split, settings, device
        self.emit, self.stop = emit, stop
        self.rng = np.random.default_rng(settings.seed)
        self.steps_per_epoch = math.ceil(len(split.train) / settings.batch_size)
        self.optimizer = torch.optim.AdamW(
            _parameter_groups(module, settings.learning_rate), weight_decay=WEIGHT_DECAY
        )
        self.epochs = settings.epochs or default_epochs(len(split.train), settings.batch_size)
        total_steps = self.epochs * self.steps_per_epoch
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, one_cycle(total_steps))
        self.adversary = Adversary(total_steps, device) if settings.family == "vae-gan" else None
        self.step = 0

    def run(self) -> tuple[list[EpochDone], int, bool]:
        """Train; the module ends with the weights of the epoch with the best held-out PSNR
        (for a VAE-GAN, among the epochs trained with the full adversarial term, if any),
        or as it started if no epoch did better. Returns every epoch completed, the kept
        epoch (0 for the start) and whether a stop or Ctrl-C ended training early."""
        history: list[EpochDone] = []
        start = holdout_psnr(self.module, self.split.frames, self.split.holdout, self.device)
        best = ((self.adversary is None, start), 0, _snapshot(self.module))
        stopped_early = False
        try:
            for epoch in range(1, self.epochs + 1):
                means = self._epoch(epoch)
                if self.module.codebook is not None:
                    self.module.codebook.restart_unused()
                psnr = holdout_psnr(self.module, self.split.frames, self.split.holdout,
                                    self.device)
                if not (math.isfinite(psnr) and _finite(self.module)):
                    # the last step can break the weights after its loss was measured
                    raise _diverged(f"epoch {epoch}: the weights or reconstructions are NaN "
                                    "or infinite", self.settings)
                adversarial = self.adversary is None or self.adversary.ramp_factor(self.step) == 1
                if (adversarial, psnr) > best[0]:
                    best = ((adversarial, psnr), epoch, _snapshot(self.module))
                history.append(EpochDone(epoch, self.epochs, *means, psnr, best[1], best[0][1]))
                self.emit(history[-1])
        except (Cancelled, KeyboardInterrupt):
            stopped_early = True
        self.module.load_state_dict(best[2])
        self.module.eval()
        return history, best[1], stopped_early

    def _epoch(self, epoch: int) -> np.ndarray:
        """One pass over the training frames; the mean loss terms per frame."""
        order = self.rng.permutation(self.split.train)
        size = self.settings.batch_size
        totals = np.zeros(3)
        self.module.train()
        for step, start in enumerate(range(0, len(order), size), 1):
            if self.stop():
                raise Cancelled("training stopped")
            batch = np.sort(order[start : start + size])
            images = frames_to_tensor(self.split.frames[batch], self.device)
            terms, reconstruction = self._loss(images)
            self.optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            self.optimizer.step()
            self.schedule.step()
            if self.adversary is not None:
                self.adversary.critic_step(images, reconstruction.detach(), self.step)
            self.step += 1
            values = (terms.total.item(), terms.reconstruction.item(), terms.kl.item())
            if not math.isfinite(values[0]):
                raise _diverged(f"epoch {epoch}, step {step}: the loss is {values[0]}",
                                self.settings)
            totals += np.array(values) * len(batch)
            self.emit(StepDone(epoch, self.epochs, step, self.steps_per_epoch, *values))
        return totals / len(order)

    def _loss(self, images: torch.Tensor) -> tuple[LossTerms, torch.Tensor]:
        """The family's objective on one batch, and the batch's reconstruction. A VQ-VAE's
        codebook and commitment penalty is reported in the KL's place; a VAE-GAN's
        adversarial term is in the total only."""
        mu, logvar = self.module.encode(images)
        codebook = self.module.codebook
        if codebook is not None:
            latents, penalty = codebook.straight_through(mu)
            reconstruction = self.module.decode_exact(latents)
            terms = reconstruction_loss(images, reconstruction)
            return LossTerms(terms.total + penalty, terms.reconstruction, penalty), reconstruction
        if self.module.config.deterministic:
            reconstruction = self.module.decode_exact(mu)
            return reconstruction_loss(images, reconstruction), reconstruction
        latents = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        reconstruction = self.module.decode_exact(latents)
        terms = beta_vae_loss(images, reconstruction, mu, logvar, self.settings.beta,
                              self.settings.free_bits)
        if self.adversary is None:
            return terms, reconstruction
        adversarial = self.adversary.generator_loss(
            terms.reconstruction, reconstruction, self.module.decoder[-1].weight, self.step)
        return LossTerms(terms.total + adversarial, terms.reconstruction, terms.kl), reconstruction


def _parameter_groups(module: ConvVAE, learning_rate: float) -> list[dict[str, Any]]:
    """The network's parameters at ``learning_rate``; the linear path's, if any, at
    :data:`LINEAR_PATH_RATE` of it and without weight decay.

    Each of the linear path's weights meets every pixel of a frame, so a step the size of
    a convolution's moves the latents by hundreds of times more: at the network's rate the
    PCA start is lost within an epoch, and frozen it cannot improve at all.
    """
    linear = list(module.linear.parameters()) if module.config.linear_path else []
    network = [p for p in module.parameters() if all(p is not q for q in linear)]
    groups: list[dict[str, Any]] = [{"params": network}]
    if linear:
        groups.append({"params": linear, "lr": learning_rate * LINEAR_PATH_RATE,
                       "weight_decay": 0.0})
    for group in groups:
        group.setdefault("lr", learning_rate)
    return groups


def default_epochs(train_frames: int, batch_size: int) -> int:
    """As many epochs as make about :data:`STEP_BUDGET` optimiser steps, enough for a clip
    of a few dozen frames to be learnt at all; a clip of more than about 460 frames gets
    :data:`MIN_EPOCHS` epochs (its varied content needs more steps to learn), up to
    :data:`MAX_STEPS` steps (about 9 minutes on a 2-core CPU), whatever its length."""
    per_epoch = math.ceil(train_frames / batch_size)
    steps = min(max(STEP_BUDGET, MIN_EPOCHS * per_epoch), MAX_STEPS)
    return max(1, round(steps / per_epoch))


def one_cycle(total_steps: int) -> Callable[[int], float]:
    """The learning rate's factor at each step: a linear warm-up from 1/25 of the peak over
    the first :data:`WARMUP_FRACTION` of the steps, then a cosine decay to nothing (the
    one-cycle policy; unlike torch's ``OneCycleLR``, any number of steps works)."""
    warmup = max(1, round(WARMUP_FRACTION * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return 0.04 + 0.96 * step / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


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
    module: ImageAutoencoder, frames: np.ndarray, indices: np.ndarray, device: torch.device
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

    AdamW on this model diverges from too large a step or KL weight, so both are named.
    """
    return ExplorerError(
        f"training diverged at {where} (learning rate {settings.learning_rate:g}, "
        f"β {settings.beta:g}); try a smaller --learning-rate "
        f"(default {TrainSettings.learning_rate:g}) or --beta"
    )


def _finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(tensor).all()) for tensor in module.state_dict().values())


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


def _linear_start(config: ConvVAEConfig, frames: np.ndarray, train: np.ndarray,
                  baseline: FramePCA) -> tuple[torch.Tensor, ...]:
    """Where the linear path starts: the baseline's PCA of whole frames, or for spatial
    latents PCA of their patches, one component for each latent channel."""
    if not config.latent_grid:
        return _channels_first(baseline, config.image_size)
    channels, grid, _ = config.latent_shape
    patch = config.image_size // grid
    return _channels_first(fit_patch_pca(frames, train, patch, channels), patch)


def _channels_first(fit: FramePCA, size: int) -> tuple[torch.Tensor, ...]:
    """The PCA's mean, axes and spreads for images (frames, or patches) of ``size`` pixels
    a side flattened as the network sees them (channel, height, width) instead of as they
    are stored (height, width, channel)."""
    mean = torch.from_numpy(fit.mean).view(size, size, 3).permute(2, 0, 1).reshape(-1)
    axes = torch.from_numpy(fit.axes).view(-1, size, size, 3).permute(0, 3, 1, 2)
    return mean, axes.reshape(len(fit.axes), 3 * size * size), torch.from_numpy(fit.spreads)

def _training_record(
    video: str | os.PathLike[str], settings: TrainSettings, history: list[EpochDone],
    kept: int,
) -> dict[str, Any]:
    """The settings and the kept epoch's figures (epoch 0, the untrained start, has no
    losses)."""
    best = next((e for e in history if e.epoch == kept), None)
    return {
        "source_video": Path(video).name,
        "settings": asdict(settings),
        "epochs_completed": len(history),
        "best_epoch": kept if history else None,
        "final_loss": best.loss if best else None,
        "final_reconstruction": best.reconstruction if best else None,
        "final_kl": best.kl if best else None,
        "holdout_psnr_db": history[-1].kept_psnr if history else None,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
