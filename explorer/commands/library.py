"""``explorer library encode``: videos into a library, on Ray (:mod:`explorer.library`)."""

from __future__ import annotations

import argparse
import sys
import time

from explorer import interrupts
from explorer.commands.progress import ProgressBar
from explorer.errors import ExplorerError
from explorer.library.build import EncodeRequest, LibraryProgress, encode_library
from explorer.library.catalog import Library
from explorer.library.discover import find_videos
from explorer.library.ray_pool import PoolOptions


def library_command(args: argparse.Namespace) -> int:
    """``explorer library ACTION``; ``encode`` is the one action so far."""
    return _encode(args)


def _encode(args: argparse.Namespace) -> int:
    request = EncodeRequest(
        videos=find_videos(args.inputs, skip=args.output),
        folder=args.output,
        model=args.model,
        trust_code=args.trust_code,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
        pool=PoolOptions(args.ray_address, args.workers, args.gpus_per_worker),
        umap=not args.no_umap,
        keep_map=args.keep_map,
    )
    started = time.monotonic()
    with ProgressBar(desc="encoding", unit=" frames") as bar, \
            ProgressBar(desc="UMAP of the library", unit=" steps") as layout:

        def progress(update: LibraryProgress) -> None:
            bar.update_to(update.frames_done, update.frames_expected)
            if bar.bar is not None:
                bar.bar.set_postfix_str(f"videos {update.done + update.failed}/{update.videos}"
                                        f", {update.failed} failed", refresh=False)
            interrupts.check()

        def map_progress(done: int, total: int) -> None:
            bar.close()  # the frames are done: their bar ends above the layout's
            layout.update_to(done, total)
            interrupts.check()

        summary = encode_library(request, progress, map_progress)
    seconds = time.monotonic() - started
    library = summary.library
    for video in summary.results:
        for warning in video.warnings:
            print(f"explorer: warning: {video.name}: {warning}", file=sys.stderr)
    done = [video for _, video in library.done()]
    print(f"wrote {args.output}: {_videos(len(done))}, {sum(v.frames for v in done):,} frames "
          f"({sum(v.duration_s for v in done):.1f} s of video); encoded {summary.encoded} in "
          f"{seconds:.1f} s, {summary.skipped} done already; shared map: {_map_text(library)}")
    failed = summary.failed
    if failed:
        first = failed[0]
        raise ExplorerError(
            f"{len(failed)} of {_videos(len(summary.results))} failed ({first.name}: "
            f"{first.reason}{'; …' if len(failed) > 1 else ''}); the others are in the library, "
            f"and explorer info {args.output} lists why each failed"
        )
    return 0


def _map_text(library: Library) -> str:
    """``PCA and UMAP of 3 videos``, and how many videos are placed on a map kept from
    before."""
    shared = library.shared_map
    if shared is None:
        return "none"
    kinds = "PCA and UMAP" if shared.umap else "PCA"
    placed = len([video for video in library.covered() if video not in shared.videos])
    kept = f", {_videos(placed)} placed on it (kept with --keep-map)" if placed else ""
    return f"{kinds} of {_videos(len(shared.videos))}{kept}"


def _videos(count: int) -> str:
    return f"{count} video{'' if count == 1 else 's'}"
