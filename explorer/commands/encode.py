"""``explorer encode``: a video through a model into a trajectory ``.npz``."""

from __future__ import annotations

import argparse
import sys
import time

from explorer.commands.progress import ProgressBar
from explorer.fileio import check_output_path
from explorer.latent.projection import PCAProjection
from explorer.model.open import open_model
from explorer.pipeline.cache import TrajectoryCache
from explorer.pipeline.encode import EncodeProgress, Selection, encode_with_cache
from explorer.video.reader import probe_video


def encode_command(args: argparse.Namespace) -> int:
    check_output_path(args.output, args.overwrite)
    probe_video(args.video)
    vae = open_model(args.model, device=args.device)
    selection = Selection(args.start, args.end, args.stride, args.max_frames)
    started = time.monotonic()
    with ProgressBar(desc="encoding", unit=" frames") as bar:

        def progress(update: EncodeProgress) -> None:
            bar.update_to(update.done, update.expected)

        trajectory, cached = encode_with_cache(
            args.video,
            args.model,
            vae,
            selection,
            cache=None if args.no_cache else TrajectoryCache(),
            batch_size=args.batch_size,
            on_progress=progress,
        )
    seconds = time.monotonic() - started
    for warning in trajectory.meta["video"].get("warnings", []):
        print(f"explorer: warning: {warning}", file=sys.stderr)
    projection = PCAProjection.fit(trajectory.mu)
    trajectory.embedding = projection.embed(trajectory.mu)
    trajectory.meta["projection"] = {"kind": "pca"}
    trajectory.save(args.output, float16=args.float16)
    source = "from the cache" if cached else f"in {seconds:.1f} s"
    print(
        f"wrote {args.output}: {len(trajectory)} frames, latent shape "
        f"{'×'.join(map(str, trajectory.latent_shape))}, {source}"
    )
    return 0
