"""Every exception becomes one line for the user, in one way (explorer.errors.describe_error)."""

import errno

import av
import pytest

from explorer.errors import ExplorerError, describe_error

FULL = OSError(errno.ENOSPC, "No space left on device", "/data/clip.mp4")


@pytest.mark.parametrize(
    ("exc", "plain", "typed"),
    [
        (RuntimeError("frame 9 is not in the trajectory\ndetails"),
         "frame 9 is not in the trajectory", "RuntimeError: frame 9 is not in the trajectory"),
        (ExplorerError("a name from a file: evil\nline"),
         "a name from a file: evil\\nline", "a name from a file: evil\\nline"),
        (FULL, "no space left on device: /data/clip.mp4",
         "OSError: no space left on device: /data/clip.mp4"),
        (av.error.FFmpegError(5, "Input/output error", "/data/clip.webm"),
         "input/output error: /data/clip.webm", "FFmpegError: input/output error: /data/clip.webm"),
        (OSError("could not save 000001.png"), "could not save 000001.png",
         "OSError: could not save 000001.png"),
        (KeyError("weights"), "'weights'", "KeyError: 'weights'"),
        (RuntimeError("\n  boom in the decoder  \ntraceback"), "boom in the decoder",
         "RuntimeError: boom in the decoder"),
        (GeneratorExit(), "GeneratorExit", "GeneratorExit"),
    ],
)
def test_one_line_from_any_exception(exc: BaseException, plain: str, typed: str) -> None:
    assert describe_error(exc) == plain
    assert describe_error(exc, with_type=True) == typed


def test_a_message_that_names_the_file_already_leaves_it_out() -> None:
    assert describe_error(FULL, with_file=False) == "no space left on device"
    assert describe_error(OSError("could not save 000001.png"), with_file=False) == (
        "could not save 000001.png"
    )
