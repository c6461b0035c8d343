"""Phone videos (a display matrix that turns the stored frames) are read upright (issue 14).

Phones store portrait video as landscape frames and a display matrix, written in
MP4/MOV as the track matrix and shown by ``ffprobe`` as ``rotate``/``displaymatrix``.
Every clip here is made by PyAV with that matrix, checked to carry it, and encoded
losslessly, so the upright frames are known exactly: :func:`upright` of the frames
written.
"""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from explorer.cli import main
from explorer.pipeline.encode import encode_video
from explorer.video import fit_frames, open_video, probe_video
from tests.factories import make_vae

HEIGHT, WIDTH = 32, 48  # as stored: landscape
COUNT = 4
CORNER = 8
# Where the stored frame's top-left corner is shown, by clockwise turn.
CORNER_SHOWN = {90: "top-right", 180: "bottom-right", 270: "bottom-left"}


def pattern(index: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A frame no turn or mirror leaves alike: red grows rightwards, green downwards,
    blue with ``index``, and a white block in the top-left corner."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[..., 0] = 40 + 160 * x // (width - 1)
    rgb[..., 1] = 40 + 160 * y // (height - 1)
    rgb[..., 2] = 30 + 40 * index
    rgb[:CORNER, :CORNER] = 255
    return rgb


def upright(rgb: np.ndarray, clockwise: int) -> np.ndarray:
    """``rgb`` as a player shows it when the file says to turn it ``clockwise`` degrees."""
    return np.rot90(rgb, -clockwise // 90)


def write_clip(
    path: Path, clockwise: int, frames: list[np.ndarray] | None = None
) -> tuple[Path, list[np.ndarray]]:
    """Write lossless H.264 whose display matrix turns it ``clockwise`` degrees, check
    that the file carries that matrix, and return it with the frames as stored."""
    frames = frames or [pattern(i) for i in range(COUNT)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"qp": "0"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv444p"
        if clockwise:
            stream.set_display_rotation(-clockwise)  # PyAV counts counter-clockwise
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:  # what ffprobe would report
        first = next(container.decode(video=0))
        matrices = [data for data in first.side_data if data.type.name == "DISPLAYMATRIX"]
        assert len(matrices) == (1 if clockwise else 0)
        assert -first.rotation % 360 == clockwise
        assert (first.width, first.height) == (frames[0].shape[1], frames[0].shape[0])
    return path, frames


def corner(rgb: np.ndarray, where: str) -> np.ndarray:
    vertical, horizontal = where.split("-")
    rows = slice(0, CORNER) if vertical == "top" else slice(-CORNER, None)
    columns = slice(0, CORNER) if horizontal == "left" else slice(-CORNER, None)
    return rgb[rows, columns]


def assert_same_picture(got: np.ndarray, want: np.ndarray, tolerance: float = 2.0) -> None:
    assert got.shape == want.shape
    assert np.abs(got.astype(int) - want.astype(int)).mean() < tolerance


@pytest.mark.parametrize(
    ("clockwise", "suffix"), [(90, ".mp4"), (180, ".mp4"), (270, ".mp4"), (90, ".mov")]
)
def test_rotated_frames_come_upright(tmp_path: Path, clockwise: int, suffix: str) -> None:
    path, stored = write_clip(tmp_path / f"phone{suffix}", clockwise)
    with open_video(path) as reader:
        assert reader.info.backend == "pyav"
        streamed = [rgb for _, rgb in reader.frames()]
        assert len(streamed) == COUNT
        for index, rgb in enumerate(streamed):
            assert rgb.flags.c_contiguous
            assert_same_picture(rgb, upright(stored[index], clockwise))
            assert np.array_equal(reader.frame(index), rgb)
        first = reader.frame(0)
        assert reader.info.rotation == clockwise
    assert corner(first, CORNER_SHOWN[clockwise]).min() > 240, "the white corner moved there"
    assert corner(first, "top-left").max() < 240
    # OpenCV turns frames by its own reading of the matrix: both must agree.
    with open_video(path, backend="opencv") as reader:
        assert reader.info.rotation == clockwise
        assert_same_picture(reader.frame(0), first)


def test_unrotated_files_are_unchanged_and_rotation_is_only_a_turn(tmp_path: Path) -> None:
    plain, stored = write_clip(tmp_path / "plain.mp4", 0)
    turned, _ = write_clip(tmp_path / "turned.mp4", 90)
    with open_video(plain) as reader:
        assert (reader.info.width, reader.info.height) == (WIDTH, HEIGHT)
        plain_frames = [rgb for _, rgb in reader.frames()]
        assert reader.info.rotation == 0
    with open_video(turned) as reader:
        turned_frames = [rgb for _, rgb in reader.frames()]
    for index, (rgb, turned_rgb) in enumerate(zip(plain_frames, turned_frames, strict=True)):
        assert_same_picture(rgb, stored[index])
        assert np.array_equal(turned_rgb, upright(rgb, 90)), "the same pixels, turned"


@pytest.mark.parametrize("clockwise", [90, 270])
@pytest.mark.parametrize("mode", ["crop", "letterbox"])
@pytest.mark.parametrize(
    "stored_size",
    [(HEIGHT, WIDTH), (16, 80)],  # the second crops before scaling (FitPlan.apply)
)
def test_fitted_frames_of_rotated_videos_fit_the_upright_picture(
    tmp_path: Path, clockwise: int, mode: str, stored_size: tuple[int, int]
) -> None:
    frames = [pattern(i, *stored_size) for i in range(COUNT)]
    path, stored = write_clip(tmp_path / "phone.mp4", clockwise, frames)
    size = (8, 8) if stored_size == (16, 80) else (16, 12)
    with open_video(path) as reader:
        fitted = [rgb for _, rgb in reader.frames(size=size, fit_mode=mode)]
    assert len(fitted) == COUNT
    for index, rgb in enumerate(fitted):
        assert rgb.flags.c_contiguous and rgb.dtype == np.uint8
        want = fit_frames(np.ascontiguousarray(upright(stored[index], clockwise)), size, mode)
        assert_same_picture(rgb, want, tolerance=6.0)


@pytest.mark.parametrize("clockwise", [90, 270])
def test_info_reports_the_upright_size(
    tmp_path: Path, clockwise: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = write_clip(tmp_path / "phone.mp4", clockwise)
    info = probe_video(path)
    assert (info.width, info.height) == (HEIGHT, WIDTH)
    assert info.rotation == clockwise
    with open_video(path) as reader:
        assert (reader.info.width, reader.info.height) == (HEIGHT, WIDTH)
    with pytest.raises(SystemExit) as exited:
        main(["info", str(path)])
    assert exited.value.code == 0
    assert re.search(rf"Frame size\s+{HEIGHT} × {WIDTH}\n", capsys.readouterr().out)


def test_encoding_a_rotated_clip_sees_it_upright(tmp_path: Path) -> None:
    """A rotated clip encodes to the latents of the same clip stored upright, and far
    from those of its sideways frames."""
    phone, stored = write_clip(tmp_path / "phone.mp4", 90)
    twin, _ = write_clip(
        tmp_path / "twin.mp4", 0, [np.ascontiguousarray(upright(rgb, 90)) for rgb in stored]
    )
    vae = make_vae(size=64, latent_dim=8)
    turned = encode_video(phone, vae)
    straight = encode_video(twin, vae)
    sideways, _ = vae.encode(fit_frames(np.stack(stored), vae.frame_size, vae.fit_mode))
    assert turned.mu.shape == straight.mu.shape == (COUNT, 8)
    assert list(turned.frame_index) == list(range(COUNT))
    off = np.abs(sideways - straight.mu).max()
    assert off > 0 and np.abs(turned.mu - straight.mu).max() < 0.05 * off
