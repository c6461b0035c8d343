"""``explorer encode``: a video through a model into a trajectory ``.npz``: a row a frame,
or for a video autoencoder (Wan, CogVideoX...) a row a latent step. For a VQ model the
summary says how many codebook entries the video uses. ``--csv`` also writes the
trajectory as a table (:func:`~explorer.analysis.table.write_trajectory_csv`), with each
frame's reconstruction PSNR, scene and anomaly score."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from explorer import interrupts
from explorer.analysis.anomalies import score_anomalies
from explorer.analysis.segments import find_segments
from explorer.analysis.table import write_trajectory_csv
from explorer.commands.progress import ProgressBar
from explorer.commands.sources import encode_with_bar
from explorer.errors import ExplorerError
from explorer.fileio import atomic_output, check_output_path
from explorer.latent.projection import PCAProjection, UMAPProjection, projection_meta
from explorer.latent.trajectory import Trajectory
from explorer.model import guard
from explorer.model.contract import AnyVAE
from explorer.model.open import open_model
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.encode import Selection
from explorer.video.reader import probe_video


def encode_command(args: argparse.Namespace) -> int:
    check_output_path(args.output, args.overwrite, inputs=(args.video, args.model))
    if args.csv is not None:
        check_output_path(args.csv, args.overwrite, inputs=(args.video, args.model))
        if Path(args.csv).resolve() == Path(args.output).resolve():
            raise ExplorerError("--csv and -o name the same file; give the table its own name")
    probe_video(args.video)
    vae = open_model(args.model, device=args.device, trust_code=args.trust_code)
    # The table has a PSNR column: measure it (decoding every frame again) when one is asked.
    selection = Selection(args.start, args.end, args.stride, args.max_frames,
                          measure_error=args.csv is not None)
    started = time.monotonic()
    trajectory, cached = encode_with_bar(
        args.video, args.model, vae, selection,
        cache=None if args.no_cache else TrajectoryCache(), batch_size=args.batch_size)
    seconds = time.monotonic() - started
    for warning in trajectory.meta["video"].get("warnings", []):
        print(f"explorer: warning: {warning}", file=sys.stderr)
    trajectory = trajectory.with_embedding(*_project(trajectory, args.projection))
    with atomic_output(args.output, overwrite=args.overwrite) as temp:
        trajectory.save(temp, float16=args.float16)
    if args.csv is not None:
        write_trajectory_csv(args.csv, trajectory, find_segments(trajectory.mu, trajectory.time_s),
                             score_anomalies(trajectory.mu, trajectory.psnr_db), args.overwrite)
    source = "from the cache" if cached else f"in {seconds:.1f} s"
    print(
        f"wrote {args.output}: {_rows(trajectory)}, latent shape "
        f"{'×'.join(map(str, trajectory.latent_shape))}{_codes(vae, trajectory)}, {source}"
    )
    if args.csv is not None:
        print(f"wrote {args.csv}: a line a frame (frame, time, x, y, psnr_db, cluster, segment, "
              "score)")
    return 0


def _codes(vae: AnyVAE, trajectory: Trajectory) -> str:
    """For a VQ model, how many of its codebook entries the latents snap to; else nothing."""
    used = guard.codes_used(vae, trajectory.latents())
    if used is None:
        return ""
    return f", using {used:,} of {vae.describe()['codebook_size']:,} codebook entries"


def _rows(trajectory: Trajectory) -> str:
    """What the rows are: frames, or latent steps of several frames each."""
    if not trajectory.is_temporal:
        return f"{len(trajectory)} frames"
    temporal = trajectory.meta["temporal"]
    stride = temporal["stride"]
    first = ", the first alone" if temporal["causal_first_frame"] and stride > 1 else ""
    return (f"{len(trajectory)} latent steps ({stride} frame{'s' if stride > 1 else ''} "
            f"each{first})")


def _project(trajectory: Trajectory, kind: str) -> tuple[np.ndarray, dict]:
    """The 2-D embedding and its description (kind and parameters) for the file."""
    if kind == "pca":
        pca = PCAProjection.fit(trajectory.mu)
        return pca.embedding, projection_meta(pca)
    with ProgressBar(desc="UMAP layout", unit=" epochs") as bar:

        def progress(done: int, total: int | None = None) -> None:
            bar.update_to(done, total)
            interrupts.check()

        umap = UMAPProjection.fit(trajectory.mu, seed=0, on_progress=progress)
    return umap.embedding, projection_meta(umap)
