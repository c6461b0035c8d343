"""The ``explorer`` command: the GUI by default, plus ``train`` and ``info``.

This layer parses arguments, calls the core and prints; it holds no model or video logic.
Errors the user can fix print one line ``explorer: error: ...`` and exit 1; usage errors
exit 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from explorer import __version__
from explorer.errors import ExplorerError, describe_error
from explorer.memory import reuse_freed_memory

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
MODEL_HELP = (
    "a .safetensors model, a TorchScript file, a diffusers AutoencoderKL folder or "
    "package.module:factory (see docs/models.md)"
)

_COMMAND_HELP = """commands:
  explorer [VIDEO] [--model MODEL]   open the app (the bundled demo when no video is given)
  explorer train VIDEO -o MODEL      train a β-VAE on a video
  explorer encode VIDEO --model MODEL -o TRAJ.npz
                                     encode a video into a latent trajectory
  explorer export --model MODEL --video VIDEO --keyframes 0,120 -o OUT.mp4
                                     interpolate between keyframes into a clip
  explorer info FILE                 describe a model, trajectory or video file
  explorer bench [--quick] [--json]  measure speed and memory against the targets

Run 'explorer COMMAND --help' for a command's options."""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``explorer`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if args_list and args_list[0] in _COMMANDS:
        args = parser.parse_args(args_list)
    else:
        args = build_gui_parser().parse_args(args_list)
        args.command = None
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
        sys.exit(EXIT_INTERRUPTED)


def build_parser() -> argparse.ArgumentParser:
    """The parser for the sub-commands (``train``, ``info``)."""
    common = _common_options()
    parser = argparse.ArgumentParser(prog="explorer", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train",
        parents=[common],
        help="train a β-VAE on a video",
        description="Train the built-in β-VAE on a video and save it as .safetensors.",
    )
    train.add_argument("video", type=Path, help="video file to learn from")
    train.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    train.add_argument(
        "--size",
        type=int,
        default=64,
        choices=(64, 128, 256),
        help="square frame size in pixels (default 64)",
    )
    train.add_argument(
        "--latent-dim", type=_positive_int, default=16, help="latent size (default 16)"
    )
    train.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (default 1)")
    train.add_argument("--epochs", type=_positive_int, default=30, help="passes over the frames")
    train.add_argument("--batch-size", type=_positive_int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument(
        "--max-frames",
        type=_positive_int,
        default=None,
        help="use at most this many frames from the start",
    )
    train.add_argument(
        "--fit",
        choices=("crop", "letterbox"),
        default="crop",
        help="how non-square frames fit the model (default crop)",
    )
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing model file")

    encode = commands.add_parser(
        "encode",
        parents=[common],
        help="encode a video into a latent trajectory (.npz)",
        description="Encode every selected frame of a video and save the trajectory.",
    )
    encode.add_argument("video", type=Path, help="video file to encode")
    encode.add_argument("--model", required=True, help=MODEL_HELP)
    encode.add_argument("-o", "--output", type=Path, required=True, help="trajectory to write")
    encode.add_argument("--projection", choices=("pca", "umap"), default="pca",
                        help="2-D layout stored with the latents (default pca; umap is slower)")
    encode.add_argument("--start", type=_non_negative_int, default=0, help="first frame")
    encode.add_argument("--end", type=_positive_int, default=None, help="stop before this frame")
    encode.add_argument("--stride", type=_positive_int, default=1, help="take every Nth frame")
    encode.add_argument("--max-frames", type=_positive_int, default=None)
    encode.add_argument("--batch-size", type=_positive_int, default=32)
    encode.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    encode.add_argument("--no-cache", action="store_true", help="encode even if cached")
    encode.add_argument("--float16", action="store_true",
                        help="store latents as float16 (half the size, for image latents)")
    encode.add_argument("--overwrite", action="store_true", help="replace an existing file")

    export = commands.add_parser(
        "export",
        parents=[common],
        help="render an interpolation between keyframes as a clip",
        description="Interpolate between keyframes (or render any latent sequence) and write "
        "an MP4 (H.264), WebM (VP9), GIF or a folder of PNGs; the format follows -o.",
    )
    export.add_argument("--model", required=True, help=MODEL_HELP)
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, help="video to take keyframes from")
    source.add_argument("--trajectory", type=Path, help="trajectory (.npz) to take them from")
    source.add_argument("--latents", type=Path, help="render this [N, ...] .npy as it is")
    export.add_argument("--keyframes", type=_frame_list, help="frame numbers, e.g. 0,120,240")
    export.add_argument(
        "--method",
        choices=("lerp", "slerp", "spline"),
        default="slerp",
        help="interpolation (default slerp)",
    )
    export.add_argument(
        "--easing", choices=("linear", "ease-in", "ease-out", "ease-in-out"), default="linear"
    )
    length = export.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive_int, help="frames in the clip")
    length.add_argument("--seconds", type=float, default=2.0, help="clip length (default 2)")
    export.add_argument("--fps", type=float, default=24.0, help="frame rate (default 24)")
    export.add_argument("--size", type=_positive_int, help="longest side of the output, pixels")
    export.add_argument(
        "--filter",
        choices=("nearest", "bilinear", "bicubic", "lanczos"),
        default="lanczos",
        help="upscaling filter (default lanczos)",
    )
    export.add_argument("--quality", type=int, default=23, help="0 best … 51 worst (default 23)")
    export.add_argument(
        "--side-by-side",
        action="store_true",
        help="show the original frame beside each frame the path passes through",
    )
    export.add_argument("--counter", action="store_true", help="draw a frame counter")
    export.add_argument("--ping-pong", action="store_true", help="play forward, then back")
    export.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing output")
    export.add_argument(
        "-o",
        "--output",
        required=True,  # a str: Path drops the "/"
        help="OUT.mp4, OUT.webm, OUT.gif or OUTDIR/ for PNG frames",
    )

    bench = commands.add_parser(
        "bench",
        parents=[common],
        help="measure interactive, encode and export speed and memory",
        description="Measure drag previews, the fast inverse, encode and export throughput, "
        "memory, start-up and UI stalls against their targets (docs/performance.md). Exits 0 "
        "even when targets fail; only a bench that could not run exits non-zero.",
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--model", help="model to measure (default: the demo model)")
    bench.add_argument("--video", type=Path, help="clip to measure (default: synthetic)")
    bench.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")

    info = commands.add_parser(
        "info",
        parents=[common],
        help="describe a model, trajectory or video file",
        description="Print what a model, trajectory or video file holds.",
    )
    info.add_argument("file", type=Path)
    return parser


def build_gui_parser() -> argparse.ArgumentParser:
    """The parser for launching the app."""
    parser = argparse.ArgumentParser(
        prog="explorer",
        parents=[_common_options()],
        description="Latent Explorer: look inside video autoencoders.",
        epilog=_COMMAND_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", nargs="?", type=Path, help="video to open (default: the demo)")
    parser.add_argument("--model", help="model (default: the demo model); " + MODEL_HELP)
    parser.add_argument("--session", type=Path, help="open a saved session (.lxsession)")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="save the window as PNG once it is drawn, then exit",
    )
    parser.add_argument("--self-test", action="store_true",
                        help="check that model, video, export, UMAP and Qt work here, then exit")
    parser.add_argument("--version", action="version", version=f"Latent Explorer {__version__}")
    return parser


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    return common


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _non_negative_int(text: str) -> int:
    return _int_at_least(text, 0)


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


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
    return value


def _run_gui(args: argparse.Namespace) -> int:
    if args.self_test:
        from explorer.selftest import run_self_test

        return 0 if run_self_test() else EXIT_ERROR
    from explorer.ui.app import run_app

    return run_app(video=args.video, model=args.model, screenshot=args.screenshot,
                   session=args.session)


def _run_train(args: argparse.Namespace) -> int:
    from explorer.commands.train import train_command

    return train_command(args)


def _run_encode(args: argparse.Namespace) -> int:
    from explorer.commands.encode import encode_command

    return encode_command(args)


def _run_export(args: argparse.Namespace) -> int:
    from explorer.commands.export import export_command

    if args.latents is None and args.keyframes is None:
        raise ExplorerError("--keyframes is needed with --video or --trajectory")
    return export_command(args)


def _run_bench(args: argparse.Namespace) -> int:
    from explorer.commands.bench import bench_command

    return bench_command(args)


def _run_info(args: argparse.Namespace) -> int:
    from explorer.info import describe_file, format_table

    print(format_table(describe_file(args.file)))
    return 0


_COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    "train": _run_train,
    "encode": _run_encode,
    "export": _run_export,
    "bench": _run_bench,
    "info": _run_info,
}
