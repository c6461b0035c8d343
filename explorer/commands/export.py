"""``explorer export``: keyframes (or any latent sequence) into an MP4, WebM, GIF or PNGs."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np

from explorer import interrupts
from explorer.analysis.directions import apply_direction, load_direction
from explorer.arrays import load_latents
from explorer.commands.progress import ProgressBar
from explorer.commands.sources import trajectory_for
from explorer.errors import ExplorerError
from explorer.fileio import check_not_an_input, check_output_path, check_writable_folder
from explorer.latent.interpolate import path_latents, steps_for
from explorer.latent.keyframes import Keyframe, clip_path, keyframes_at_frames
from explorer.latent.trajectory import Trajectory
from explorer.library.catalog import load_library
from explorer.library.joined import JoinedLibrary, LibraryFrames, join_library
from explorer.model.contract import AnyVAE, is_temporal
from explorer.model.identity import model_identity
from explorer.model.open import open_model
from explorer.pipeline.decode import check_decodable
from explorer.pipeline.export import (
    ExportProgress,
    ExportSettings,
    Originals,
    build_recipe,
    export_clip,
    recipe_paths,
    save_recipe,
    shown_beside,
)
from explorer.video.reader import open_video, probe_video
from explorer.video.writer import check_clip_target, format_for_path


def export_command(args: argparse.Namespace) -> int:
    if args.amount is not None and args.direction is None:
        raise ExplorerError("--amount moves along a --direction: give the direction too")
    if args.side_by_side and args.latents is not None:
        raise ExplorerError(
            "--side-by-side needs --video or --trajectory (or --library): latents rendered "
            "as they are come with no video frames to show beside them"
        )
    _check_targets(args)
    if args.video is not None:
        probe_video(args.video)
    vae = open_model(args.model, device=args.device, trust_code=args.trust_code)
    direction = None if args.direction is None else \
        load_direction(args.direction, math.prod(vae.latent_shape))
    amount = 1.0 if args.amount is None else args.amount
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
    joined: JoinedLibrary | None = None
    if args.latents is not None:
        latents = load_latents(args.latents, vae.latent_shape)
        frames: list[int | None] = [None] * len(latents)
        keyframes: list[Keyframe] = []
        method = easing = video = None
    else:
        trajectory, numbers, video, joined = _keyframe_source(args, vae)
        keyframes = keyframes_at_frames(trajectory, numbers)
        frames_wanted = args.steps or steps_for(args.seconds, args.fps)
        steps = path_latents(frames_wanted, vae.rule if is_temporal(vae) else None)
        method, easing = args.method, args.easing
        path = clip_path(keyframes, steps, method, easing)
        latents, frames = path.latents, path.frames
    passing = latents  # where the path passes: the frames beside it are those nearest
    if direction is not None:
        latents = apply_direction(latents, direction, amount)
    shaped = latents.reshape(len(latents), *vae.latent_shape)
    recipe = build_recipe(
        latents,
        settings,
        keyframes=keyframes if joined is None else joined.parts.recipe_keyframes(keyframes),
        method=method,
        easing=easing,
        model=args.model,
        model_identity=model_identity(args.model),
        video=video,
    )
    if direction is not None:
        recipe.settings.update(direction=str(args.direction.resolve()), amount=amount)
    if joined is not None:  # the keyframes' frames are their own videos'
        recipe.settings.update(joined.parts.recipe_settings(keyframes))
    with ExitStack() as stack:
        originals = None
        if settings.side_by_side and trajectory is not None:
            originals = stack.enter_context(
                _originals(video, vae, trajectory, passing, frames, joined))
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
    inputs = (args.model, args.video, args.trajectory, args.latents, args.library)
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


class _Keyframes(NamedTuple):
    """Where the keyframes come from: a trajectory, the frame numbers in it, and the
    video, or the library whose videos it joins."""

    trajectory: Trajectory
    numbers: list[int]
    video: Path | None
    joined: JoinedLibrary | None


def _keyframe_source(args: argparse.Namespace, vae: AnyVAE) -> _Keyframes:
    if args.library is not None:
        joined = join_library(args.library, load_library(args.library))
        check_decodable(joined.trajectory, vae, str(args.library), args.model, "the library")
        return _Keyframes(joined.trajectory, joined.joined_frames(args.keyframes), None, joined)
    trajectory, video = trajectory_for(vae, args.model, args.video, args.trajectory)
    return _Keyframes(trajectory, args.keyframes, video, None)


@contextmanager
def _originals(
    video: Path | None, vae: AnyVAE, trajectory: Trajectory, latents: np.ndarray,
    frames: list[int | None], joined: JoinedLibrary | None = None,
) -> Iterator[Originals]:
    """The frames beside a side-by-side clip: a keyframe's own, else the nearest one's,
    from whichever of a library's videos holds it."""
    if joined is not None:
        with LibraryFrames(joined) as library_frames:
            shown = shown_beside(vae, latents, trajectory, frames)
            yield Originals(joined.labelled(shown), library_frames.frame)
        return
    if video is None or not Path(video).exists():
        raise ExplorerError("--side-by-side needs the original video, which was not found")
    shown = shown_beside(vae, latents, trajectory, frames)
    with open_video(video) as reader:
        yield Originals(shown, reader.frame)
