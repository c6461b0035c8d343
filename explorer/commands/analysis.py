"""``explorer segments`` and ``explorer anomalies``: a trajectory's scenes, and the frames
that stand out (see docs/analysis.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from explorer.analysis.anomalies import score_anomalies, write_anomalies_csv
from explorer.analysis.segments import find_segments, write_segments_csv
from explorer.fileio import check_output_path
from explorer.latent.trajectory import Trajectory

_LISTED = 10
"""Segments or frames printed; the file holds them all."""


def segments_command(args: argparse.Namespace) -> int:
    check_output_path(args.output, args.overwrite, [args.trajectory])
    trajectory = Trajectory.load(args.trajectory)
    clusters = None if args.clusters == "auto" else args.clusters
    segmentation = find_segments(trajectory.mu, trajectory.time_s, clusters)
    write_segments_csv(args.output, trajectory, segmentation, args.overwrite)
    quality = ("" if segmentation.silhouette is None
               else f" (silhouette {segmentation.silhouette:.2f})")
    print(f"wrote {args.output}: {segmentation.segments} segments in "
          f"{segmentation.clusters} clusters{quality}")
    spans = segmentation.spans()
    for number, (first, last) in enumerate(spans[:_LISTED]):
        print(f"  segment {number}: frames {trajectory.frames_of(first)[0]}–"
              f"{trajectory.frames_of(last)[1]}, cluster {segmentation.cluster[first]}")
    if len(spans) > _LISTED:
        print(f"  … and {len(spans) - _LISTED} more (all in {args.output})")
    return 0


def anomalies_command(args: argparse.Namespace) -> int:
    check_output_path(args.output, args.overwrite, [args.trajectory, args.model, args.video])
    trajectory = Trajectory.load(args.trajectory)
    psnr = trajectory.psnr_db
    if psnr is None:
        psnr = _measure(trajectory, args)
    scores = score_anomalies(trajectory.mu, psnr)
    count = min(args.top, len(trajectory))
    write_anomalies_csv(args.output, trajectory, scores, count, args.overwrite)
    print(f"wrote {args.output}: the {count} highest of {len(trajectory)} scores")
    for row in scores.top(min(count, _LISTED)):
        print(f"  frame {trajectory.frame_index[row]}: {scores.score[row]:.1f} "
              f"({scores.reasons(int(row))})")
    return 0


def _measure(trajectory: Trajectory, args: argparse.Namespace) -> np.ndarray | None:
    """The reconstruction PSNR of a trajectory saved without it, measured with ``--model``
    on ``--video`` (or the video it names); None, with a warning, when it cannot be."""
    recorded = (trajectory.meta.get("video") or {}).get("path")
    video = args.video or (Path(recorded) if recorded and Path(recorded).is_file() else None)
    if args.model is None or video is None:
        needed = "--model" if args.model is None else "--video (the video it names is gone)"
        print(f"explorer: warning: {args.trajectory} holds no reconstruction PSNR, so the "
              f"scores leave it out; give {needed} to measure it", file=sys.stderr)
        return None
    # The model's stack (torch) is imported only when a model is needed.
    from explorer.commands.sources import measured_psnr
    from explorer.model.open import open_model
    from explorer.video.reader import probe_video

    probe_video(video)
    vae = open_model(args.model, device=args.device, trust_code=args.trust_code)
    return measured_psnr(trajectory, str(args.trajectory), vae, args.model, video)
