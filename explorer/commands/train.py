"""``explorer train``: a tqdm bar over the core training loop, then an atomic save and the
scores: the model's held-out PSNR beside the PCA baseline's."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from explorer import interrupts
from explorer.commands.progress import ProgressBar
from explorer.fileio import atomic_output, check_output_path
from explorer.model.facts import holds_frames_out
from explorer.model.files import save_model
from explorer.model.training import (
    EpochDone,
    FramesRead,
    StepDone,
    TrainEvent,
    TrainSettings,
    train_beta_vae,
)
from explorer.video.reader import probe_video


def train_command(args: argparse.Namespace) -> int:
    check_output_path(args.output, args.overwrite, inputs=(args.video,))
    probe_video(args.video)
    channels, grid, _ = args.latent_shape or (args.latent_dim, 0, 0)
    settings = TrainSettings(
        image_size=args.size,
        latent_dim=channels * max(grid, 1) ** 2,
        latent_grid=grid,
        beta=args.beta,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_frames=args.max_frames,
        seed=args.seed,
        device=args.device,
        fit_mode=args.fit,
        family=args.family,
        free_bits=args.free_bits,
        codebook_size=args.codebook_size,
        code_dim=args.code_dim,
    )
    progress = _ProgressBars()
    try:
        result = train_beta_vae(args.video, settings, on_event=progress)
    finally:
        progress.close()

    if result.epochs_completed == 0:
        print("explorer: interrupted before the first epoch ended; no model saved", file=sys.stderr)
        return interrupts.exit_code()
    with atomic_output(args.output, overwrite=args.overwrite) as temp:
        save_model(result.vae, temp, result.record)
    shape = "×".join(map(str, settings.network().latent_shape))
    summary = f"{settings.image_size} px, {shape} latents, {scores(result.record)}"
    if result.stopped_early:
        print(
            f"explorer: interrupted; saved the model after epoch {result.record['best_epoch']} "
            f"of {result.history[-1].epochs} to {args.output} ({summary})",
            file=sys.stderr,
        )
        return interrupts.exit_code()
    print(f"saved {args.output} ({summary})")
    return 0


def scores(record: dict) -> str:
    """The kept epoch and its held-out PSNR beside PCA's with as many components."""
    held_out = holds_frames_out(record)
    return (
        f"best epoch {record['best_epoch']}/{record['epochs_completed']}: "
        f"{'held-out' if held_out else 'training-frame'} PSNR "
        f"{record['holdout_psnr_db']:.1f} dB, PCA-{record['pca_components']} "
        f"{record['pca_psnr_db']:.1f} dB{'' if held_out else ' (too few frames to hold any out)'}"
    )


class _ProgressBars:
    """Turns training events into a frame-reading bar, then one bar over all steps."""

    def __init__(self) -> None:
        self._reading = ProgressBar(desc="reading frames", unit=" frames", leave=False)
        self._training: tqdm | None = None
        self._psnr = float("nan")

    def __call__(self, event: TrainEvent) -> None:
        interrupts.check()  # training stops at the last completed epoch, reading at once
        if isinstance(event, FramesRead):
            self._reading.update_to(event.count)
        elif isinstance(event, StepDone):
            if self._training is None:
                self._reading.close()
                total = event.epochs * event.steps_per_epoch
                self._training = tqdm(total=total, desc="training", unit=" steps")
            self._training.set_description(f"epoch {event.epoch}/{event.epochs}", refresh=False)
            self._training.set_postfix(
                loss=f"{event.loss:.1f}",
                kl=f"{event.kl:.1f}",
                psnr=f"{self._psnr:.1f}",
                refresh=False,
            )
            self._training.update(1)
        elif isinstance(event, EpochDone):
            self._psnr = event.holdout_psnr

    def close(self) -> None:
        self._reading.close()
        if self._training is not None:
            self._training.close()
