"""Numbers on the command line: argparse refuses absurd ones (exit 2) and names the range,
which ``--help`` shows too. Parsing only: nothing here opens a file or runs a model."""

from __future__ import annotations

import pytest

from explorer.cli import build_parser, main

PREFIX = {
    "train": ["train", "clip.mp4", "-o", "model.safetensors"],
    "encode": ["encode", "clip.mp4", "--model", "model.safetensors", "-o", "t.npz"],
    "export": ["export", "--model", "model.safetensors", "--latents", "l.npy", "-o", "o.mp4"],
}
HUGE = str(10**12)
DEVICE_RANGE = "auto, cpu, cuda, cuda:N or mps"

# command, option, the range as help and errors write it, values inside it (the bounds
# among them), absurd values
OPTIONS = [
    ("train", "--latent-dim", "1 to 4,096", ["1", "4096"], ["0", "-1", "1000000000", "1e308"]),
    ("train", "--beta", "0 to 1000", ["0", "4.5", "1000"], ["-1", "nan", "inf", "1e308"]),
    ("train", "--epochs", "1 to 100,000", ["1", "100000"], ["0", "-5", HUGE]),
    ("train", "--batch-size", "1 to 1,024", ["1", "1024"], ["0", "1000000000"]),
    ("train", "--learning-rate", "1e-08 to 1", ["1e-3", "1"], ["0", "nan", "-0.1", "-inf",
                                                              "1e308"]),
    ("train", "--max-frames", "1 to 10,000,000", ["1", "10000000"], ["0", HUGE]),
    ("train", "--seed", "0 to 4,294,967,295", ["0", "4294967295"], ["-1", "1e308", HUGE * 3]),
    ("train", "--device", DEVICE_RANGE, ["auto", "cpu", "cuda", "cuda:1", "mps"],
     ["gpu", "cuda:x", "", "cuda:123456789"]),
    ("encode", "--start", "0 to 10,000,000", ["0"], ["-1", HUGE]),
    ("encode", "--end", "1 to 10,000,000", ["1"], ["0", HUGE]),
    ("encode", "--stride", "1 to 10,000,000", ["1", "5"], ["0", "-1"]),
    ("encode", "--max-frames", "1 to 10,000,000", ["1"], ["0", "nan"]),
    ("encode", "--batch-size", "1 to 1,024", ["32"], ["0", "1000000"]),
    ("encode", "--device", DEVICE_RANGE, ["cpu"], ["tpu"]),
    ("export", "--steps", "1 to 100,000", ["1", "100000"], ["0", HUGE]),
    ("export", "--seconds", "0.1 to 600", ["0.1", "600"], ["0", "-1", "nan", "inf", "1e308"]),
    ("export", "--fps", "1 to 240", ["1", "23.976", "240"], ["0", "1e9", "nan", "-24"]),
    ("export", "--size", "16 to 8,192", ["16", "8192"], ["0", "1000000"]),
    ("export", "--quality", "0 to 51", ["0", "51"], ["99", "-1", "1e308"]),
    ("export", "--device", DEVICE_RANGE, ["cuda:0"], ["cuda:-1"]),
]


def _dest(option: str) -> str:
    return option.removeprefix("--").replace("-", "_")


@pytest.mark.parametrize(
    "command, option, allowed, inside, absurd", OPTIONS, ids=[f"{c} {o}" for c, o, *_ in OPTIONS]
)
def test_each_number_is_checked_against_its_range(command, option, allowed, inside, absurd,
                                                  capsys):
    for value in inside:
        args = build_parser().parse_args([*PREFIX[command], f"{option}={value}"])
        parsed = getattr(args, _dest(option))
        assert parsed == value if isinstance(parsed, str) else parsed == float(value)
    for value in absurd:
        with pytest.raises(SystemExit) as exit_:
            main([*PREFIX[command], f"{option}={value}"])  # =: "-1" is a value, not an option
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert exit_.value.code == 2, value
        assert error.startswith(f"explorer {command}: error: argument {option}: "), error
        assert allowed in error, error


@pytest.mark.parametrize("command", sorted(PREFIX))
def test_help_shows_each_range(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo the help's line wrapping
    for row_command, option, allowed, *_ in OPTIONS:
        if row_command == command:
            described = text.split(f" {option} ")[-1].split(" --")[0]
            assert allowed in described, (option, described)
