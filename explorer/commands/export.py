"""``explorer export``: keyframes (or any latent sequence) into an MP4, WebM, GIF or PNGs."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from explorer import interrupts
from explorer.arrays import load_latents
from explorer.commands.progress import ProgressBar
from explorer.errors import ExplorerError
from explorer.fileio import check_not_an_input, check_output_path, check_writable_folder
from explorer.latent.interpolate import steps_for
from explorer.latent.keyframes import Keyframe, clip_path, keyframes_at_frames
from explorer.latent.trajectory import Trajectory
from explorer.model.identity import model_identity
from explorer.model.open import open_model
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.encode import encode_with_cache
from explorer.pipeline.export import (
    ExportProgress,
    ExportSettings,
    Originals,
    build_recipe,
    export_clip,
    nearest_frames,
    recipe_paths,
    save_recipe,
)
from explorer.video.reader import open_video, probe_video
from explorer.video.writer import check_clip_target, format_for_path


def export_command(args: argparse.Namespace) -> int:
    if args.side_by_side and args.latents is not None:
        raise ExplorerError(
            "--side-by-side needs --video or --trajectory: latents rendered as they are "
            "come with no video frames to show beside them"
        )
    _check_targets(args)
    if args.video is not None:
        probe_video(args.video)
    vae = open_model(args.model, device=args.device, trust_code=args.trust_code)
    settings = ExportSettings(
        fps=args.fps,
        size=args.size,
        resize_filter=args.filter,
        quality=args.quality,
        side_by_side=args.side_by_side,
        frame_counter=args.counter,
        ping_pong=args.ping_pong,
        overwrite=args.overwrite,
    )
    trajectory: Trajectory | None = None
    if args.latents is not None:
        latents = load_latents(args.latents, vae.latent_shape)
        frames: list[int | None] = [None] * len(latents)
        keyframes: list[Keyframe] = []
        method = easing = video = None
    else:
        trajectory, video = _trajectory(args, vae)
        keyframes = keyframes_at_frames(trajectory, args.keyframes)
        steps = args.steps or steps_for(args.seconds, args.fps)
        method, easing = args.method, args.easing
        path = clip_path(keyframes, steps, method, easing)
        latents, frames = path.latents, path.frames
    shaped = latents.reshape(len(latents), *vae.latent_shape)
    recipe = build_recipe(
        latents,
        settings,
        keyframes=keyframes,
        method=method,
        easing=easing,
        model=args.model,
        model_identity=model_identity(args.model),
        video=video,
    )
    with ExitStack() as stack:
        originals = None
        if settings.side_by_side and trajectory is not None:
            originals = stack.enter_context(_originals(video, trajectory, latents, frames))
        bar = stack.enter_context(ProgressBar(desc="exporting", unit=" frames"))

        def progress(update: ExportProgress) -> None:
            bar.update_to(update.done, update.total)
            interrupts.check()

        written = export_clip(shaped, vae, args.output, settings, originals, progress)
    latents_file, _ = save_recipe(recipe, written, overwrite=args.overwrite)
    print(
        f"wrote {written} ({bar.done} frames at {args.fps:g} fps; latents in {latents_file.name})"
    )
    return 0


def _check_targets(args: argparse.Namespace) -> None:
    """Fail before any long work when the clip or its recipe files could not, or may not,
    be written at the end (see :func:`~explorer.pipeline.export.save_recipe`)."""
    output, overwrite = args.output, args.overwrite
    inputs = (args.model, args.video, args.trajectory, args.latents)
    png = format_for_path(output) == "png"
    clip = Path(output.rstrip("/\\")) if png else Path(output)
    recipes = recipe_paths(output)
    for target in (clip, *recipes):
        check_not_an_input(target, inputs)
    check_clip_target(output, overwrite)
    if png:  # its recipe goes into the new folder, which replaces the old one whole
        check_writable_folder(clip if clip.is_dir() else clip.parent, output)
    else:
        for recipe in recipes:
            check_output_path(recipe, overwrite)


def _trajectory(args: argparse.Namespace, vae) -> tuple[Trajectory, Path | None]:
    if args.trajectory is not None:
        trajectory = Trajectory.load(args.trajectory)
        if tuple(trajectory.latent_shape) != tuple(vae.latent_shape):
            raise ExplorerError(
                f"{args.trajectory} holds latents of shape {tuple(trajectory.latent_shape)} "
                f"but {args.model} makes {tuple(vae.latent_shape)}; encode the video with "
                "this model first"
            )
        video = trajectory.meta.get("video", {}).get("path")
        return trajectory, Path(video) if video else None
    trajectory, _ = encode_with_cache(
        args.video,
        args.model,
        vae,
        cache=TrajectoryCache(),
        on_progress=lambda _update: interrupts.check(),
    )
    return trajectory, args.video


@contextmanager
def _originals(
    video: Path | None, trajectory: Trajectory, latents: np.ndarray, frames: list[int | None]
) -> Iterator[Originals]:
    """The frames beside a side-by-side clip: a keyframe's own, else the nearest one's."""
    if video is None or not Path(video).exists():
        raise ExplorerError("--side-by-side needs the original video, which was not found")
    shown = nearest_frames(latents, trajectory.mu, trajectory.frame_index, exact=frames)
    with open_video(video) as reader:
        yield Originals(shown, reader.frame)
