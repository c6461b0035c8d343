"""The ``explorer`` command: the GUI by default, plus the sub-commands (``train``, ``info``…).

This layer parses arguments, calls the core and prints; it holds no model or video logic.
Errors the user can fix print one line ``explorer: error: ...`` and exit 1; usage errors
exit 2; ``--debug`` shows the traceback instead. ``--help`` shows each option's default.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from explorer import __version__
from explorer.errors import ExplorerError, describe_error
from explorer.memory import reuse_freed_memory

EXIT_ERROR = 1
EXIT_USAGE = 2
MODEL_HELP = (
    "a .safetensors model, a TorchScript file, a diffusers image or video autoencoder "
    "folder or "
    "package.module:factory (see docs/models.md)"
)

_COMMAND_HELP = """commands:
  explorer [VIDEO | LIB] [--model MODEL]
                                     open the app (the bundled demo when no video is given;
                                     a library's folder opens with its own model)
  explorer train VIDEO -o MODEL      train an autoencoder (β-VAE, AE or VQ-VAE) on a video
  explorer encode VIDEO --model MODEL -o TRAJ.npz
                                     encode a video into a latent trajectory
  explorer export --model MODEL --video VIDEO --keyframes 0,120 -o OUT.mp4
                                     interpolate between keyframes into a clip
  explorer traverse --model MODEL --video VIDEO --frame 0 -o GRID.png
                                     what each latent dimension does, as a grid or a clip
  explorer compare VIDEO --model A --model B -o REPORT.png
                                     two models on one video: maps, PSNR, samples
  explorer segments TRAJ.npz -o SEGMENTS.csv
                                     cut a trajectory into scenes
  explorer anomalies TRAJ.npz --model MODEL -o ANOMALIES.csv
                                     list the frames that stand out, and why
  explorer library encode VIDEO_OR_FOLDER... --model MODEL -o LIB
                                     encode many videos into one library, on Ray
  explorer info FILE                 describe a model, video, trajectory, session,
                                     clip recipe, latents, PNG-frame clip or library
  explorer bench [--quick] [--json]  measure speed and memory against the targets

Run 'explorer COMMAND --help' for a command's options."""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``explorer`` console script."""
    from explorer import interrupts

    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] in (["train"], ["encode"], ["export"], ["library"], ["traverse"],
                         ["anomalies"], ["compare"]):
        interrupts.install()  # their progress callbacks stop at interrupts.check()
    args = parse_args(args_list)
    handler = _COMMANDS.get(args.command, _run_gui)
    reuse_freed_memory()
    try:
        sys.exit(handler(args))
    except (ExplorerError, OSError) as exc:
        if args.debug:
            raise
        print(f"explorer: error: {describe_error(exc)}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("explorer: interrupted", file=sys.stderr)
        sys.exit(interrupts.exit_code())


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` read by the sub-command parser when it starts with a command, else by the
    launcher's (``command`` is then None), so that opening the window never waits for
    the sub-commands' imports.

    A first word that is no file or folder but nearly a command's name is a usage error
    naming the command (exit 2), not a video that is not found.
    """
    argv = list(argv)
    first = argv[0] if argv else ""
    if first in _COMMANDS:
        return build_parser().parse_args(argv)
    suggestion = _mistyped_command(first)
    if suggestion is not None:
        print(f"explorer: error: unknown command {first!r}; did you mean {suggestion!r}?",
              file=sys.stderr)
        sys.exit(EXIT_USAGE)
    args = build_gui_parser().parse_args(argv)
    args.command = None
    return args


def _mistyped_command(word: str) -> str | None:
    """The command ``word`` nearly spells (``exprot``: ``export``), if ``word`` is a plain
    word that names nothing here: a file called ``exprot`` is still a video to open."""
    if not re.fullmatch(r"[A-Za-z]+", word) or os.path.lexists(word):
        return None
    from difflib import get_close_matches

    matches = get_close_matches(word.lower(), [name for name in _COMMANDS if name], n=1)
    return matches[0] if matches else None


class _HelpFormatter(argparse.HelpFormatter):
    """Ends each option's help with its default, ``(default: 30)``.

    Unlike :class:`argparse.ArgumentDefaultsHelpFormatter`, it leaves out flags and
    options whose default is None: their help says what None means, ``(default: the
    model's frame size)``, which "None" would not.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if action.nargs == 0 or default is None or default is argparse.SUPPRESS \
                or "(default" in text:
            return text
        shown = _number(default) if isinstance(default, int | float) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"  # help is %-formatted


class _LauncherHelpFormatter(_HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults as above; the epilog (the list of commands) keeps its layout."""


def build_parser() -> argparse.ArgumentParser:
    """The parser for the sub-commands (``train``, ``info``)."""
    # The core's vocabularies, imported here: the window's start does not wait for OpenCV.
    from explorer.latent.interpolate import EASING_NAMES, METHODS
    from explorer.state import settings as clip
    from explorer.video.writer import RESIZE_FILTERS

    seconds, fps = Bounded(float, *clip.SECONDS), Bounded(float, *clip.FPS)
    clip_size, quality = Bounded(int, *clip.SIZE), Bounded(int, *clip.QUALITY)

    common = _common_options()
    parser = argparse.ArgumentParser(prog="explorer", parents=[common],
                                     formatter_class=_HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="train an autoencoder on a video",
        description="Train a built-in autoencoder (β-VAE by default) on a video and save it "
        "as .safetensors. The defaults are explorer.model.training.TrainSettings'.",
    )
    train.add_argument("video", type=Path, help="video file to learn from")
    train.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    train.add_argument(
        "--size",
        type=int,
        default=64,
        choices=(64, 128, 256),
        help="square frame size in pixels",
    )
    train.add_argument("--family", choices=("vae", "ae", "vq-vae", "vae-gan"), default="vae",
                       help="β-VAE, plain autoencoder, VQ-VAE or VAE-GAN")
    latent = train.add_mutually_exclusive_group()
    latent.add_argument("--latent-dim", type=LATENT_DIM, default=16,
                        help=f"latent size, {LATENT_DIM.range}")
    latent.add_argument("--latent-shape", type=_latent_shape, default=None,
                        metavar="CxHxW",
                        help="spatial latents of C channels on an H×W grid (H = W, a power "
                        "of two), like 4x16x16 (default: a vector of --latent-dim)")
    train.add_argument("--beta", type=BETA, default=1.0,
                       help=f"weight of the KL term, {BETA.range}")
    free_bits = Bounded(float, 0.0, 100.0)
    train.add_argument("--free-bits", type=free_bits, default=4.0,
                       help=f"nats of KL per latent that cost nothing, {free_bits.range}")
    codebook_size, code_dim = Bounded(int, 2, 65536), Bounded(int, 1, 4096)
    train.add_argument("--codebook-size", type=codebook_size, default=512,
                       help=f"vq-vae: codebook entries, {codebook_size.range}")
    train.add_argument("--code-dim", type=code_dim, default=4,
                       help="vq-vae: numbers per code; it must divide --latent-dim, "
                       f"{code_dim.range}")
    train.add_argument("--epochs", type=EPOCHS, default=None,
                       help=f"passes over the frames, {EPOCHS.range} (default: 1,200 to 2,700 "
                       "steps: 80 epochs of a 250-frame clip, 45 of 720 frames)")
    _batch_size_option(train)
    train.set_defaults(batch_size=16)
    train.add_argument("--learning-rate", type=LEARNING_RATE, default=5e-4,
                       help=f"AdamW's peak step size (one-cycle schedule), {LEARNING_RATE.range}")
    train.add_argument("--max-frames", type=FRAME_COUNT, default=None,
                       help=f"use at most this many frames from the start, {FRAME_COUNT.range} "
                       "(default: every frame)")
    train.add_argument(
        "--fit",
        choices=("crop", "letterbox"),
        default="crop",
        help="how non-square frames fit the model",
    )
    _device_option(train)
    train.add_argument("--seed", type=SEED, default=0,
                       help=f"random seed, {SEED.range}")
    train.add_argument("--overwrite", action="store_true", help="replace an existing model file")

    encode = commands.add_parser(
        "encode",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="encode a video into a latent trajectory (.npz)",
        description="Encode every selected frame of a video and save the trajectory.",
    )
    encode.add_argument("video", type=Path, help="video file to encode")
    encode.add_argument("--model", required=True, help=MODEL_HELP)
    _add_trust_option(encode)
    encode.add_argument("-o", "--output", type=Path, required=True, help="trajectory to write")
    encode.add_argument("--projection", choices=("pca", "umap"), default="pca",
                        help="2-D layout stored with the latents; umap is slower")
    encode.add_argument("--start", type=FRAME_NUMBER, default=0,
                        help=f"first frame, {FRAME_NUMBER.range}")
    encode.add_argument("--end", type=FRAME_COUNT, default=None,
                        help=f"stop before this frame, {FRAME_COUNT.range} "
                        "(default: the end of the video)")
    encode.add_argument("--stride", type=FRAME_COUNT, default=1,
                        help=f"take every Nth frame, {FRAME_COUNT.range} (1 for a video "
                        "autoencoder, whose latent steps cover consecutive frames)")
    encode.add_argument("--max-frames", type=FRAME_COUNT, default=None,
                        help=f"encode at most this many frames, {FRAME_COUNT.range} "
                        "(default: every selected frame)")
    _batch_size_option(encode)
    _device_option(encode)
    encode.add_argument("--no-cache", action="store_true", help="encode even if cached")
    encode.add_argument("--float16", action="store_true",
                        help="store latents as float16 (half the size, for image latents)")
    encode.add_argument("--overwrite", action="store_true", help="replace an existing file")
    encode.add_argument("--csv", type=Path, metavar="TABLE.csv",
                        help="also write the trajectory as a table, a line a frame: frame, "
                        "time, x, y, psnr_db, cluster, segment, score (measures each frame's "
                        "PSNR, decoding it again) (default: no table)")

    export = commands.add_parser(
        "export",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="render an interpolation between keyframes as a clip",
        description="Interpolate between keyframes (or render any latent sequence) and write "
        "an MP4 (H.264), WebM (VP9), GIF or a folder of PNGs; the format follows -o.",
    )
    export.add_argument("--model", required=True, help=MODEL_HELP)
    _add_trust_option(export)
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, help="video to take keyframes from")
    source.add_argument("--trajectory", type=Path, help="trajectory (.npz) to take them from")
    source.add_argument("--latents", type=Path, help="render this [N, ...] .npy as it is")
    source.add_argument("--library", type=Path, metavar="LIB",
                        help="library (its folder) to take keyframes from, across its videos")
    export.add_argument("--keyframes", type=_keyframe_list,
                        help="frame numbers, e.g. 0,120,240 (needed with --video or "
                        "--trajectory; --latents takes none); with --library VIDEO:FRAME, "
                        "e.g. 0:10,2:40, the video by its index in explorer info LIB or its "
                        "file name")
    export.add_argument("--method", choices=METHODS, default="slerp",
                        help="how the path goes between keyframes")
    export.add_argument("--easing", choices=EASING_NAMES, default="linear",
                        help="how its pace changes between keyframes")
    length = export.add_mutually_exclusive_group()
    length.add_argument("--steps", type=CLIP_FRAMES,
                        help=f"frames in the clip, {CLIP_FRAMES.range} "
                        "(default: --seconds × --fps); a video autoencoder's clip is "
                        "rounded up to whole latent steps")
    length.add_argument("--seconds", type=seconds, default=2.0,
                        help=f"clip length in seconds, {seconds.range}")
    export.add_argument("--fps", type=fps, default=24.0,
                        help=f"frame rate, {fps.range}")
    export.add_argument("--size", type=clip_size, default=clip.ExportChoices().size,
                        help=f"longest side of the output in pixels, {clip_size.range}")
    export.add_argument("--filter", choices=RESIZE_FILTERS, default="lanczos",
                        help="upscaling filter")
    export.add_argument("--quality", type=quality, default=23,
                        help=f"{quality.range}: 0 best … 51 worst")
    export.add_argument(
        "--side-by-side",
        action="store_true",
        help="show the nearest video frame beside each frame, labelled (needs --video or "
             "--trajectory)",
    )
    export.add_argument("--counter", action="store_true", help="draw a frame counter")
    export.add_argument("--ping-pong", action="store_true", help="play forward, then back")
    export.add_argument("--direction", type=Path, metavar="FILE.npy",
                        help="move the whole path along this latent direction, saved by the "
                        "window (default: none)")
    export.add_argument("--amount", type=AMOUNT, metavar="A",
                        help=f"how far along --direction, {AMOUNT.range} (default: 1 with "
                        "--direction)")
    _device_option(export)
    export.add_argument("--overwrite", action="store_true", help="replace an existing output")
    export.add_argument(
        "-o",
        "--output",
        required=True,  # a str: Path drops the "/"
        help="OUT.mp4, OUT.webm, OUT.gif or OUTDIR/ for PNG frames",
    )

    _analysis_parsers(commands, common)
    _compare_parser(commands, common)

    bench = commands.add_parser(
        "bench",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="measure interactive, encode and export speed and memory",
        description="Measure drag previews, the fast inverse, encode and export throughput, "
        "memory, start-up and UI stalls against their targets (docs/performance.md). Exits 0 "
        "even when targets fail; only a bench that could not run exits non-zero.",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--model", help="model to measure (default: the demo model)")
    _add_trust_option(bench)
    bench.add_argument("--video", type=Path, help="clip to measure (default: a synthetic one)")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")

    _library_parser(commands, common)

    info = commands.add_parser(
        "info",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="describe any file the app reads or writes",
        description="Print what a model (a file or a diffusers folder), a video, a trajectory "
        "(.npz), a session (.lxsession), a clip recipe (.clip.json), latents (.npy), a clip "
        "saved as PNG frames (its folder) or a library (its folder) holds. Nothing in the "
        "file runs.",
    )
    info.add_argument("file", type=Path, help="the file or folder to describe")
    return parser


def _analysis_parsers(commands: argparse._SubParsersAction,
                      common: argparse.ArgumentParser) -> None:
    """``traverse``, ``segments`` and ``anomalies`` (docs/analysis.md)."""
    from explorer.analysis.segments import MAX_CLUSTERS
    from explorer.analysis.traversal import DEVIATIONS, STEPS
    from explorer.state import settings as clip

    steps, deviations = Bounded(int, *STEPS), Bounded(float, *DEVIATIONS)
    tile, fps = Bounded(int, *clip.SIZE), Bounded(float, *clip.FPS)
    traverse = commands.add_parser(
        "traverse",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="show what each latent dimension does, as a grid or an animated clip",
        description="Start from a frame's latent and move it along each latent dimension (for "
        "image-shaped latents, each of the video's principal directions), from -RANGE to "
        "+RANGE standard deviations of the video along it. A .png output is the classic grid, "
        "a row a dimension, most used first; a clip (.mp4, .webm, .gif, FOLDER/) sweeps them "
        "all together. Dimensions the model does not use are marked dead.",
    )
    traverse.add_argument("--model", required=True, help=MODEL_HELP)
    _add_trust_option(traverse)
    source = traverse.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, help="video to encode (or take from the cache)")
    source.add_argument("--trajectory", type=Path, help="trajectory (.npz) encoded with MODEL")
    traverse.add_argument("--frame", type=FRAME_NUMBER, required=True,
                          help=f"the frame to start from, {FRAME_NUMBER.range}")
    traverse.add_argument("--dims", type=_dimension_list, default="all",
                          help="all (most used first), or dimension numbers such as 0,3,5 "
                          "(principal directions, 0 the first, for image-shaped latents)")
    traverse.add_argument("--steps", type=steps, default=7,
                          help=f"values along each dimension, {steps.range}")
    traverse.add_argument("--range", type=deviations, default=3.0,
                          help=f"standard deviations each way, {deviations.range}")
    traverse.add_argument("--tile", type=tile, metavar="PX",
                          help=f"longest side of each picture, {tile.range} (default: the "
                          "model's frame size)")
    traverse.add_argument("--fps", type=fps, default=12.0,
                          help=f"frame rate of a clip, {fps.range}")
    _device_option(traverse)
    traverse.add_argument("--overwrite", action="store_true", help="replace an existing output")
    traverse.add_argument("-o", "--output", required=True,  # a str: Path drops the "/"
                          help="GRID.png, or CLIP.mp4, CLIP.webm, CLIP.gif or FOLDER/")

    segments = commands.add_parser(
        "segments",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="cut a trajectory into scenes",
        description="Cut a trajectory into segments where its latents jump (a cut: one long "
        "step that lasts), and group the segments into clusters of alike latents (k-means). "
        "Writes a line a frame: frame, time, cluster, segment (docs/analysis.md).",
    )
    segments.add_argument("trajectory", type=Path, help="trajectory (.npz) to cut")
    segments.add_argument("--clusters", type=_cluster_count(MAX_CLUSTERS), default="auto",
                          help=f"auto (chosen by the silhouette score), or 1 to {MAX_CLUSTERS}")
    segments.add_argument("--overwrite", action="store_true", help="replace an existing file")
    segments.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write")

    anomalies = commands.add_parser(
        "anomalies",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="list the frames that stand out, and why",
        description="Score each frame by its reconstruction error and by how far its latent "
        "lies from its neighbours in time and from other latents; write the top scores, "
        "highest first: frame, time, score, reasons.",
    )
    anomalies.add_argument("trajectory", type=Path, help="trajectory (.npz) to score")
    anomalies.add_argument("--model",
                           help=MODEL_HELP + " (needed when the trajectory holds no PSNR, to "
                           "measure it)")
    _add_trust_option(anomalies)
    anomalies.add_argument("--video", type=Path,
                           help="the trajectory's video, to measure the PSNR (default: the "
                           "video it names)")
    anomalies.add_argument("--top", type=TOP, default=20,
                           help=f"how many frames to list, {TOP.range}")
    _device_option(anomalies)
    anomalies.add_argument("--overwrite", action="store_true", help="replace an existing file")
    anomalies.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write")


def _compare_parser(commands: argparse._SubParsersAction,
                    common: argparse.ArgumentParser) -> None:
    """``compare`` (docs/analysis.md)."""
    compare = commands.add_parser(
        "compare",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="compare two models on one video: maps, PSNR curves, sample reconstructions",
        description="Encode a video with two models and write one figure (both maps, the "
        "second turned onto the first by Procrustes; both PSNR curves; sample frames beside "
        "both reconstructions) and a table, a line a frame: frame, time, psnr_a, psnr_b. Each "
        "model's PSNR is against the frame at its own input size.",
    )
    compare.add_argument("video", type=Path, help="video file to encode with both models")
    compare.add_argument("--model", action="append", required=True,
                         help=MODEL_HELP + "; give it twice, A then B")
    _add_trust_option(compare)
    compare.add_argument("-o", "--output", type=Path, required=True, metavar="REPORT.png",
                         help="the figure to write")
    compare.add_argument("--csv", type=Path, metavar="TABLE.csv",
                         help="the per-frame table (default: REPORT.csv beside the figure)")
    compare.add_argument("--max-frames", type=FRAME_COUNT, default=None,
                         help=f"compare at most this many frames from the start, "
                         f"{FRAME_COUNT.range} (default: every frame)")
    samples = Bounded(int, 1, 10)
    compare.add_argument("--samples", type=samples, default=5,
                         help=f"sample frames in the figure, {samples.range}")
    _batch_size_option(compare)
    _device_option(compare)
    compare.add_argument("--no-cache", action="store_true", help="encode even if cached")
    compare.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def _library_parser(commands: argparse._SubParsersAction,
                    common: argparse.ArgumentParser) -> None:
    library = commands.add_parser(
        "library",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="encode many videos into one library, on Ray",
        description="A library is a folder: a trajectory per video, all in one model's latent "
        "space, and a map shared by all of them (docs/scale-out.md).",
    )
    actions = library.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    encode = actions.add_parser(
        "encode",
        parents=[common],
        formatter_class=_HelpFormatter,
        help="encode videos into a library, on Ray",
        description="Encode videos (and the videos in folders) into a library, on a Ray started "
        "on this machine or on a Ray cluster. Videos done already are skipped, changed ones "
        "encoded again; a video that fails is recorded and the others finish (exit 1).",
    )
    encode.add_argument("inputs", nargs="+", type=Path, metavar="VIDEO_OR_FOLDER",
                        help="videos, and folders searched for videos (subfolders too)")
    encode.add_argument("--model", required=True, help=MODEL_HELP)
    _add_trust_option(encode)
    encode.add_argument("-o", "--output", type=Path, required=True, metavar="LIB",
                        help="the library's folder: new, empty, or a library to add to (on a "
                        "cluster, a path every node can reach, as the videos and model)")
    encode.add_argument("--ray-address", metavar="ADDR",
                        help="a Ray cluster's address, HOST:PORT (default: start Ray on this "
                        "machine, reachable from it alone)")
    encode.add_argument("--workers", type=WORKERS, metavar="N",
                        help=f"encoders, each with the model open, {WORKERS.range} (default: "
                        "one per CPU of the Ray cluster, or per core here without "
                        "--ray-address; with --gpus-per-worker as many as the GPUs hold)")
    encode.add_argument("--gpus-per-worker", type=_gpu_share, default=0.0, metavar="G",
                        help=f"GPUs for each worker, {GPU_SHARE.range}, e.g. 1 or 0.5: the "
                        "workers run on CUDA (default: none, on the CPU)")
    _batch_size_option(encode)
    encode.add_argument("--overwrite", action="store_true",
                        help="encode every video given again, even the ones done (and replace "
                        "a library made with another model)")
    encode.add_argument("--no-umap", action="store_true",
                        help="fit only the shared map's PCA, not its UMAP (default: both, "
                        "when the videos changed; a UMAP fitted before is kept only while "
                        "the map is)")
    encode.add_argument("--keep-map", action="store_true",
                        help="keep the shared map fitted before: the videos encoded now are "
                        "placed on it by its forward maps, fast (default: fit it again when "
                        "the videos changed)")


def build_gui_parser() -> argparse.ArgumentParser:
    """The parser for launching the app."""
    parser = argparse.ArgumentParser(
        prog="explorer",
        parents=[_common_options()],
        description="Latent Explorer: look inside video autoencoders.",
        epilog=_COMMAND_HELP,
        formatter_class=_LauncherHelpFormatter,
    )
    parser.add_argument("video", nargs="?", type=Path,
                        help="video, trajectory (.npz) or library folder to open "
                             "(default: the demo)")
    parser.add_argument("--model", help=MODEL_HELP + " (default: a library's own model, "
                                                     "else the demo model)")
    parser.add_argument("--session", type=Path,
                        help="open a saved session (.lxsession) (default: open VIDEO, or the demo)")
    _add_trust_option(parser)
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="save the window as PNG once it is drawn, then exit (default: stay open)",
    )
    parser.add_argument("--self-test", action="store_true",
                        help="check that model, video, export, UMAP and Qt work here, then exit")
    parser.add_argument("--version", action="version", version=f"Latent Explorer {__version__}")
    return parser


def _add_trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-code",
        action="store_true",
        help="allow a model that is code (TorchScript, a plugin, an installed loader) to run; "
        "safetensors files and diffusers folders never need it (docs/security.md)",
    )


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return common


class Bounded:
    """An argparse ``type``: a number of ``kind`` from ``low`` to ``high``, both included.

    Anything else (words, NaN, infinities, numbers out of range) is a usage error that
    names the range; ``range`` is the same range for the option's help.
    """

    def __init__(self, kind: type[int] | type[float], low: float, high: float) -> None:
        self.kind, self.low, self.high = kind, low, high
        self.range = f"{_number(low)} to {_number(high)}"
        self.noun = "whole number" if kind is int else "number"

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            message = f"expected a {self.noun} from {self.range}, not {text!r}"
            raise argparse.ArgumentTypeError(message) from None
        if not self.low <= value <= self.high:  # NaN fails every comparison
            raise argparse.ArgumentTypeError(f"must be from {self.range}, not {text}")
        return value


def _number(value: float) -> str:
    """``10,000,000`` for whole numbers, ``0.001`` or ``1e-08`` for the rest."""
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


# Upper bounds are far beyond any real use, but low enough that no value allocates
# gigabytes or runs for days before failing: a larger latent or batch would fill memory (a
# 256 px batch of 1,024 frames is already 800 MB of float32 input), and a clip is at most
# 100,000 frames or 10 minutes (over an hour at 24 fps; every frame's latent is held).
MAX_FRAME = 10_000_000
"""Frame numbers and counts: over 40 hours of 60 fps video."""
FRAME_NUMBER = Bounded(int, 0, MAX_FRAME)
FRAME_COUNT = Bounded(int, 1, MAX_FRAME)
BATCH_SIZE = Bounded(int, 1, 1024)
LATENT_DIM = Bounded(int, 1, 4096)
EPOCHS = Bounded(int, 1, 100_000)
BETA = Bounded(float, 0.0, 1000.0)
LEARNING_RATE = Bounded(float, 1e-8, 1.0)
"""Adam beyond a step of 1 only diverges; below 1e-8 it does not move."""
SEED = Bounded(int, 0, 2**32 - 1)
"""What numpy and torch both accept as a seed."""
CLIP_FRAMES = Bounded(int, 1, 100_000)
WORKERS = Bounded(int, 1, 4096)
GPU_SHARE = Bounded(float, 0.0, 64.0)
AMOUNT = Bounded(float, -100.0, 100.0)
"""How far along a latent direction: beyond a hundred times it, decoders show noise."""
TOP = Bounded(int, 1, 100_000)
"""The x264 CRF scale (the writer maps it onto VP9's for WebM)."""
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,2})?")


def _device(text: str) -> str:
    if not _DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda, cuda:N or mps, not {text!r}")
    return text


def _device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=_device, default="auto",
                        help="auto, cpu, cuda, cuda:N or mps")


def _batch_size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=32,
                        help=f"frames the model takes at once, {BATCH_SIZE.range}")


def _frame_list(text: str) -> list[int]:
    try:
        frames = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected frame numbers like 0,120,240: {text!r}"
        ) from None
    if len(frames) < 2 or min(frames) < 0:
        raise argparse.ArgumentTypeError("give at least two frame numbers, 0 or more")
    return frames


def _keyframe_list(text: str) -> list[int] | list[tuple[str, int]]:
    """Frame numbers (``0,120``), or VIDEO:FRAME pairs (``0:10,bikes.mp4:40``) for a
    library; which of them the source needs is checked with the source."""
    if ":" not in text:
        return _frame_list(text)
    pairs = []
    for part in text.split(","):
        video, colon, frame = part.strip().rpartition(":")
        if not (colon and video and frame.isdigit()):
            raise argparse.ArgumentTypeError(
                f"expected VIDEO:FRAME pairs like 0:10,2:40, not {part.strip()!r}")
        pairs.append((video, FRAME_NUMBER(frame)))
    if len(pairs) < 2:
        raise argparse.ArgumentTypeError("give at least two keyframes")
    return pairs


def _latent_shape(text: str) -> tuple[int, int, int]:
    """``CxHxW`` with a square grid, like ``4x16x16`` (the grid is checked against the
    frame size with the rest of the network)."""
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"expected CxHxW like 4x16x16, not {text!r}")
    channels, height, width = (int(part) for part in parts)
    if height != width or min(channels, height) < 1:
        raise argparse.ArgumentTypeError(f"the grid must be square and not empty: {text!r}")
    if channels * height * width > LATENT_DIM.high:
        raise argparse.ArgumentTypeError(
            f"{text} is {channels * height * width:,} latents; at most {LATENT_DIM.high:,}")
    return channels, height, width


def _dimension_list(text: str) -> str | list[int]:
    """``all``, or distinct dimension numbers like ``0,3,5`` (checked against the model
    later)."""
    if text == "all":
        return text
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected all or dimension numbers like 0,3,5, not {text!r}") from None
    if min(numbers) < 0 or max(numbers) >= LATENT_DIM.high or len(set(numbers)) < len(numbers):
        raise argparse.ArgumentTypeError(
            f"dimension numbers go from 0 to {LATENT_DIM.high - 1}, each once: {text!r}")
    return numbers


def _cluster_count(most: int) -> Callable[[str], str | int]:
    """An argparse ``type``: ``auto``, or a number of clusters from 1 to ``most``."""
    count = Bounded(int, 1, most)

    def parse(text: str) -> str | int:
        return text if text == "auto" else count(text)

    return parse


def _gpu_share(text: str) -> float:
    """A GPU share as Ray takes it: a fraction of one, or whole GPUs."""
    share = GPU_SHARE(text)
    if share > 1 and not float(share).is_integer():
        raise argparse.ArgumentTypeError(f"above 1, give whole GPUs, not {text}")
    return share


def _run_gui(args: argparse.Namespace) -> int:
    if args.self_test:
        from explorer.selftest import run_self_test

        return 0 if run_self_test() else EXIT_ERROR
    from explorer.ui.app import run_app

    return run_app(video=args.video, model=args.model, screenshot=args.screenshot,
                   session=args.session, trust_code=args.trust_code)


def _run_train(args: argparse.Namespace) -> int:
    from explorer.commands.train import train_command

    return train_command(args)


def _run_encode(args: argparse.Namespace) -> int:
    from explorer.commands.encode import encode_command

    return encode_command(args)


def _run_export(args: argparse.Namespace) -> int:
    if args.latents is None and args.keyframes is None:
        raise ExplorerError("--keyframes is needed with --video, --trajectory or --library")
    pairs = bool(args.keyframes) and isinstance(args.keyframes[0], tuple)
    if args.library is not None and not pairs:
        raise ExplorerError("--library takes keyframes as VIDEO:FRAME, e.g. 0:10,2:40 (the "
                            "video by its index in explorer info LIB, or its file name)")
    if args.library is None and pairs:
        raise ExplorerError("VIDEO:FRAME keyframes are for --library; with --video or "
                            "--trajectory give frame numbers, e.g. 0,120")
    from explorer.commands.export import export_command

    return export_command(args)


def _run_bench(args: argparse.Namespace) -> int:
    from explorer.commands.bench import bench_command

    return bench_command(args)


def _run_library(args: argparse.Namespace) -> int:
    from explorer.commands.library import library_command

    return library_command(args)


def _run_traverse(args: argparse.Namespace) -> int:
    from explorer.commands.traverse import traverse_command

    return traverse_command(args)


def _run_segments(args: argparse.Namespace) -> int:
    from explorer.commands.analysis import segments_command

    return segments_command(args)


def _run_anomalies(args: argparse.Namespace) -> int:
    from explorer.commands.analysis import anomalies_command

    return anomalies_command(args)


def _run_compare(args: argparse.Namespace) -> int:
    from explorer.commands.compare import compare_command

    return compare_command(args)


def _run_info(args: argparse.Namespace) -> int:
    from explorer.info import describe_file, format_table

    print(format_table(describe_file(args.file)))
    return 0


_COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    "train": _run_train,
    "encode": _run_encode,
    "export": _run_export,
    "bench": _run_bench,
    "traverse": _run_traverse,
    "segments": _run_segments,
    "anomalies": _run_anomalies,
    "compare": _run_compare,
    "library": _run_library,
    "info": _run_info,
}
