"""``explorer traverse``: what each latent dimension (or principal direction) does, from
one frame, as the classic grid or an animated sweep (see docs/analysis.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer import interrupts
from explorer.analysis.traversal import TraversalAxes, traversal_axes
from explorer.analysis.traversal_file import TraversalRequest, is_grid, write_traversal
from explorer.commands.progress import ProgressBar
from explorer.commands.sources import trajectory_for
from explorer.errors import ExplorerError
from explorer.fileio import check_not_an_input, check_output_path
from explorer.latent.trajectory import Trajectory
from explorer.model.open import open_model
from explorer.pipeline.export import panel_size
from explorer.video.reader import probe_video
from explorer.video.writer import check_clip_target


def traverse_command(args: argparse.Namespace) -> int:
    inputs = (args.model, args.video, args.trajectory)
    if is_grid(args.output):
        check_output_path(args.output, args.overwrite, inputs)
    else:
        check_not_an_input(Path(args.output.rstrip("/\\")), inputs)
        check_clip_target(args.output, args.overwrite)
    if args.video is not None:
        probe_video(args.video)
    vae = open_model(args.model, device=args.device, trust_code=args.trust_code)
    trajectory, _ = trajectory_for(vae, args.model, args.video, args.trajectory)
    row = _row_of_frame(trajectory, args.frame)
    axes = traversal_axes(trajectory)
    picked = axes.pick(None if args.dims == "all" else args.dims)
    request = TraversalRequest(row, picked, args.steps, args.range,
                               panel_size(vae.frame_size, args.tile))
    with ProgressBar(desc="decoding", unit=" tiles") as bar:
        write_traversal(vae, trajectory, axes, request, args.output, args.fps, args.overwrite,
                        on_progress=lambda done, total: _tick(bar, done, total))
    print(f"wrote {args.output}: {len(picked)} {axes.kind}s from frame {args.frame}, "
          f"{args.steps} values from -{args.range:g} to +{args.range:g} standard deviations")
    print(_ranking(axes))
    return 0


def _row_of_frame(trajectory: Trajectory, frame: int) -> int:
    row = trajectory.row_of_frame(frame)
    if row is None:
        first, last = trajectory.frames_of(0)[0], trajectory.frames_of(len(trajectory) - 1)[1]
        raise ExplorerError(f"frame {frame} is not in the trajectory (frames {first}–{last}"
                            f"{', not every one' if len(trajectory) <= last - first else ''})")
    return row


def _ranking(axes: TraversalAxes, shown: int = 16) -> str:
    """The axes, most used first, with their KL or variance: ``z6 2.43, ..., z5 0 dead``."""
    named = [f"{axes.label(axis)} {axes.importance[axis]:.3g}"
             f"{' dead' if axes.dead[axis] else ''}"
             for axis in range(min(shown, len(axes.number)))]
    more = len(axes.number) - len(named)
    rest = f" and {more} more ({int(axes.dead.sum())} dead in all)" if more > 0 else ""
    return f"{axes.kind}s, most used first ({axes.measure}): {', '.join(named)}{rest}"


def _tick(bar: ProgressBar, done: int, total: int) -> None:
    bar.update_to(done, total)
    interrupts.check()
