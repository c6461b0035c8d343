"""Writing clips: codecs, exact frame rates, odd sizes, and never a half-written file."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from explorer.errors import Cancelled, VideoError
from explorer.video import ClipWriter, format_for_path
from explorer.video import writer as writer_module

WIDTH, HEIGHT = 32, 24


def colour(i: int) -> tuple[int, int, int]:
    return (16 + (i * 37) % 224, 16 + (i * 71) % 224, 16 + (i * 113) % 224)


def frames(count: int, width: int = WIDTH, height: int = HEIGHT) -> list[np.ndarray]:
    return [np.full((height, width, 3), colour(i), np.uint8) for i in range(count)]


def write_clip(path: Path, count: int = 12, fps: float = 25, **options: object) -> Path:
    with ClipWriter(path, fps, **options) as writer:  # type: ignore[arg-type]
        for frame in frames(count):
            writer.write(frame)
    return path


def decode(path: Path) -> tuple[av.VideoStream, list[np.ndarray]]:
    """The stream's description and its decoded RGB frames."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return stream, decoded


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders the writer may have left behind."""
    return [name for name in os.listdir(folder) if ".partial" in name]


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt", "tolerance"),
    [
        ("clip.mp4", "h264", "yuv420p", 6),
        ("clip.webm", "vp9", "yuv420p", 6),
        ("clip.gif", "gif", None, 12),
    ],
)
def test_clip_formats(
    tmp_path: Path, name: str, codec: str, pix_fmt: str | None, tolerance: int
) -> None:
    path = write_clip(tmp_path / name, count=12, fps=10)
    stream, decoded = decode(path)
    assert stream.codec_context.codec.canonical_name == codec
    if pix_fmt:
        assert stream.codec_context.pix_fmt == pix_fmt
    assert stream.average_rate == 10
    assert len(decoded) == 12
    for i, rgb in enumerate(decoded):
        assert rgb.shape == (HEIGHT, WIDTH, 3)
        assert np.abs(rgb.reshape(-1, 3).mean(axis=0) - colour(i)).max() < tolerance
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("fps", "rate"),
    [
        (24, Fraction(24)),
        (25.0, Fraction(25)),
        (29.97, Fraction(30000, 1001)),
        (30000 / 1001, Fraction(30000, 1001)),
        (23.976, Fraction(24000, 1001)),
        (12.5, Fraction(25, 2)),
    ],
)
def test_frame_rate_is_exact(tmp_path: Path, fps: float, rate: Fraction) -> None:
    writer = ClipWriter(tmp_path / "clip.mp4", fps)
    assert writer.fps == rate
    with writer:
        for frame in frames(6):
            writer.write(frame)
    stream, decoded = decode(tmp_path / "clip.mp4")
    assert stream.average_rate == rate and len(decoded) == 6


def test_gif_loops_forever(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "clip.gif", count=4)
    assert b"NETSCAPE2.0" in path.read_bytes()


def test_odd_size_mp4_is_padded_with_edge_pixels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (17, 31, 3), dtype=np.uint8)
    source[:, -1] = (250, 10, 10)
    source[-1, :] = (10, 250, 10)
    with ClipWriter(tmp_path / "odd.mp4", 25, quality=0) as writer:
        writer.write(source)
    stream, decoded = decode(tmp_path / "odd.mp4")
    assert (stream.width, stream.height) == (32, 18)
    assert np.abs(decoded[0][:17, 31].astype(int) - decoded[0][:17, 30]).mean() < 12
    assert np.abs(decoded[0][17, :31].astype(int) - decoded[0][16, :31]).mean() < 12


def test_odd_size_webm_keeps_its_size(tmp_path: Path) -> None:
    with ClipWriter(tmp_path / "odd.webm", 25) as writer:
        writer.write(frames(1, 31, 17)[0])
    _, decoded = decode(tmp_path / "odd.webm")
    assert decoded[0].shape == (17, 31, 3)


def test_png_folder_holds_exact_numbered_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    source = [rng.integers(0, 256, (17, 31, 3), dtype=np.uint8) for _ in range(3)]
    with ClipWriter(f"{tmp_path}/frames/", 25) as writer:
        for frame in source:
            writer.write(frame)
    folder = tmp_path / "frames"
    assert sorted(os.listdir(folder)) == ["000000.png", "000001.png", "000002.png"]
    for i, frame in enumerate(source):
        saved = cv2.cvtColor(cv2.imread(str(folder / f"{i:06d}.png")), cv2.COLOR_BGR2RGB)
        assert np.array_equal(saved, frame)
    assert leftovers(tmp_path) == []


def test_output_appears_only_when_closed(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    with ClipWriter(target, 25) as writer:
        writer.write(frames(1)[0])
        assert not target.exists()
        assert len(leftovers(tmp_path)) == 1 and leftovers(tmp_path)[0].startswith(".clip.")
    assert target.is_file() and leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["clip.mp4", "clip.gif", "frames/"])
def test_an_exception_discards_the_clip(tmp_path: Path, name: str) -> None:
    with pytest.raises(Cancelled), ClipWriter(f"{tmp_path}/{name}", 25) as writer:
        for frame in frames(3):
            writer.write(frame)
        raise Cancelled("stopped by the user")
    assert os.listdir(tmp_path) == []


def test_an_unexpected_encoder_error_at_close_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors of the encoder thread surface at close, which still removes the clip."""

    def broken(self: object, prepared: object) -> None:
        raise RuntimeError("encoder bug")

    monkeypatch.setattr(writer_module._EncoderSink, "consume", broken)
    writer = ClipWriter(tmp_path / "clip.mp4", 25)
    writer.write(frames(1)[0])  # handed over; the encoder thread fails on it
    with pytest.raises(RuntimeError, match="encoder bug"):
        writer.close()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="closed"):
        writer.write(frames(1)[0])


def test_abort_keeps_the_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"precious")
    writer = ClipWriter(target, 25, overwrite=True)
    writer.write(frames(1)[0])
    writer.abort()
    writer.abort()
    assert target.read_bytes() == b"precious" and leftovers(tmp_path) == []


def test_existing_target_needs_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "clip.webm"
    target.write_bytes(b"precious")
    with pytest.raises(VideoError, match="already exists; pass --overwrite"):
        ClipWriter(target, 25)
    assert target.read_bytes() == b"precious"
    write_clip(target, count=3, overwrite=True)
    assert len(decode(target)[1]) == 3


def test_png_folder_replacement(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    write_clip(folder, count=5, format="png")
    with pytest.raises(VideoError, match="already holds frames; pass --overwrite"):
        ClipWriter(folder, 25, format="png")
    write_clip(folder, count=2, format="png", overwrite=True)
    assert sorted(os.listdir(folder)) == ["000000.png", "000001.png"]
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(VideoError, match="other than numbered frames"):
        ClipWriter(folder, 25, format="png", overwrite=True)
    assert leftovers(tmp_path) == []


def test_empty_existing_folder_is_used_for_png(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert format_for_path(tmp_path / "out") == "png"
    write_clip(tmp_path / "out", count=2)
    assert sorted(os.listdir(tmp_path / "out")) == ["000000.png", "000001.png"]


def test_missing_folders_are_created(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "a" / "b" / "clip.gif", count=2)
    assert path.is_file()


def test_unwritable_place_is_a_one_line_video_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(VideoError, match="cannot write to") as caught:
        ClipWriter(tmp_path / "file" / "clip.mp4", 25)
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    with pytest.raises(VideoError, match=r"cannot write to .*permission denied"):
        ClipWriter(folder / "clip.mp4", 25)


def test_closing_without_frames_leaves_nothing(tmp_path: Path) -> None:
    writer = ClipWriter(tmp_path / "clip.mp4", 25)
    with pytest.raises(VideoError, match="no frames"):
        writer.close()
    assert os.listdir(tmp_path) == []


def test_frames_must_keep_their_size(tmp_path: Path) -> None:
    with ClipWriter(tmp_path / "clip.mp4", 25) as writer:
        writer.write(frames(1)[0])
        with pytest.raises(ValueError, match="frame size changed"):
            writer.write(frames(1, 16, 16)[0])
        with pytest.raises(ValueError, match="uint8 RGB"):
            writer.write(np.zeros((HEIGHT, WIDTH), np.uint8))


def smooth_image(width: int, height: int) -> np.ndarray:
    """A blurred random image: scaling filters agree on it, unlike on noise."""
    noise = np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2)


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm", "clip.gif", "frames/", "odd.mp4"])
def test_a_fixed_size_scales_every_frame_to_it(tmp_path: Path, name: str) -> None:
    """MP4 and WebM scale within the YUV conversion, the others (and odd MP4s) with OpenCV."""
    size = (77, 51) if name == "odd.mp4" else (96, 64)
    small, large = smooth_image(24, 16), smooth_image(120, 80)
    target = f"{tmp_path}/{name}"
    with ClipWriter(target, 10, quality=0, size=size, resize_filter="bicubic") as writer:
        for frame in (small, large, small):
            writer.write(frame)
    if name == "frames/":
        decoded = [cv2.imread(str(f))[..., ::-1] for f in sorted((tmp_path / name).iterdir())]
    else:
        decoded = decode(tmp_path / name)[1]
    assert len(decoded) == 3
    for got, source in zip(decoded, (small, large, small), strict=True):
        got = got[: size[1], : size[0]]  # an odd MP4 has a padding row and column
        assert got.shape == (size[1], size[0], 3)
        want = cv2.resize(source, size, interpolation=cv2.INTER_CUBIC).astype(int)
        assert np.abs(got - want).mean() < 6, "each frame is its source, scaled"


def test_bad_settings_are_rejected(tmp_path: Path) -> None:
    for fps in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            ClipWriter(tmp_path / "clip.mp4", fps)
    with pytest.raises(ValueError):
        ClipWriter(tmp_path / "clip.mp4", 25, quality=60)
    with pytest.raises(ValueError):
        ClipWriter(tmp_path / "clip.mp4", 25, format="avi")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ClipWriter(tmp_path / "clip.mp4", 25, size=(0, 10))
    with pytest.raises(ValueError):
        ClipWriter(tmp_path / "clip.mp4", 25, resize_filter="sinc")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("a.mp4", "mp4"),
        ("b.MP4", "mp4"),
        ("c.webm", "webm"),
        ("d.gif", "gif"),
        ("out/", "png"),
        (f"out{os.sep}", "png"),
    ],
)
def test_format_for_path(path: str, fmt: str) -> None:
    assert format_for_path(path) == fmt


@pytest.mark.parametrize("fmt", writer_module.CLIP_FORMATS)
def test_every_format_is_known_by_its_suffix(tmp_path: Path, fmt: str) -> None:
    assert format_for_path(f"{tmp_path}/clip{writer_module.CLIP_FORMATS[fmt].suffix}") == fmt


@pytest.mark.parametrize("name", ["clip.mp4", "frames/"])
@pytest.mark.parametrize("resize_filter", writer_module.RESIZE_FILTERS)
def test_every_resize_filter_scales(tmp_path: Path, resize_filter: str, name: str) -> None:
    """Both ways of scaling know every filter: FFmpeg's for MP4, OpenCV's for PNG frames."""
    write_clip(f"{tmp_path}/{name}", count=2, size=(48, 36), resize_filter=resize_filter)
    if name == "frames/":
        decoded = [cv2.imread(str(f)) for f in sorted((tmp_path / name).iterdir())]
    else:
        decoded = decode(tmp_path / name)[1]
    assert [frame.shape for frame in decoded] == [(36, 48, 3)] * 2


@pytest.mark.parametrize("path", ["clip.avi", "clip", "clip.png"])
def test_unknown_extension_lists_the_supported_ones(path: str) -> None:
    with pytest.raises(VideoError, match=r"\.mp4, \.webm or \.gif, or a folder path ending in /"):
        format_for_path(path)


def test_reader_reads_what_the_writer_wrote(tmp_path: Path) -> None:
    from explorer.video import open_video

    path = write_clip(tmp_path / "clip.mp4", count=9, fps=29.97)
    with open_video(path) as reader:
        assert reader.count_frames() == 9
        assert reader.info.fps == pytest.approx(30000 / 1001)
        assert np.abs(reader.frame(4).reshape(-1, 3).mean(axis=0) - colour(4)).max() < 6
