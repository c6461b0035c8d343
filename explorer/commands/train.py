"""``explorer train``: a tqdm bar over the core training loop, then an atomic save."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from explorer import interrupts
from explorer.commands.progress import ProgressBar
from explorer.fileio import atomic_output, check_output_path
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
    settings = TrainSettings(
        image_size=args.size,
        latent_dim=args.latent_dim,
        beta=args.beta,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_frames=args.max_frames,
        seed=args.seed,
        device=args.device,
        fit_mode=args.fit,
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
    last = result.history[-1]
    summary = (
        f"{settings.image_size} px, {settings.latent_dim} latents, "
        f"{result.epochs_completed} epochs, held-out PSNR {last.holdout_psnr:.1f} dB"
    )
    if result.stopped_early:
        print(
            f"explorer: interrupted; saved the model after epoch {result.epochs_completed} "
            f"of {settings.epochs} to {args.output} ({summary})",
            file=sys.stderr,
        )
        return interrupts.exit_code()
    print(f"saved {args.output} ({summary})")
    return 0


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
