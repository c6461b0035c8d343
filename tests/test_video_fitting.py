"""Fitting frames to a model's input size: centre crop or letterbox."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from explorer.video import fit_frames
from explorer.video.fitting import plan_fit


def thirds(height: int, width: int) -> np.ndarray:
    """A frame split into red, green and blue vertical thirds."""
    frame = np.zeros((height, width, 3), np.uint8)
    third = width // 3
    frame[:, :third] = (255, 0, 0)
    frame[:, third : 2 * third] = (0, 255, 0)
    frame[:, 2 * third :] = (0, 0, 255)
    return frame


def test_crop_keeps_the_centre() -> None:
    fitted = fit_frames(thirds(32, 96), (16, 16), "crop")
    assert fitted.shape == (16, 16, 3) and fitted.dtype == np.uint8
    assert (fitted == (0, 255, 0)).all()


def test_crop_of_a_tall_frame_cuts_top_and_bottom() -> None:
    frame = np.zeros((90, 30, 3), np.uint8)
    frame[30:60] = 200
    fitted = fit_frames(frame, (10, 10), "crop")
    assert (fitted == 200).all()


def test_letterbox_pads_black_bars_evenly() -> None:
    frame = np.full((20, 80, 3), 255, np.uint8)
    fitted = fit_frames(frame, (40, 40), "letterbox")
    assert fitted.shape == (40, 40, 3)
    rows = fitted[:, 20, 0]
    assert (rows[:15] == 0).all() and (rows[15:25] == 255).all() and (rows[25:] == 0).all()
    assert (fitted[15:25] == 255).all()


def test_letterbox_of_a_tall_frame_pads_the_sides() -> None:
    frame = np.full((64, 32, 3), 90, np.uint8)
    fitted = fit_frames(frame, (32, 32), "letterbox")
    assert (fitted[:, :8] == 0).all() and (fitted[:, 24:] == 0).all()
    assert (fitted[:, 8:24] == 90).all()


def test_batches_keep_their_order() -> None:
    frames = np.stack([np.full((24, 32, 3), 10 * i, np.uint8) for i in range(6)])
    fitted = fit_frames(frames, (17, 31), "crop")
    assert fitted.shape == (6, 17, 31, 3) and fitted.flags.c_contiguous
    assert [int(frame.mean()) for frame in fitted] == [10 * i for i in range(6)]


def test_right_size_is_returned_without_a_copy() -> None:
    frames = np.zeros((3, 24, 32, 3), np.uint8)
    single = frames[0]
    assert fit_frames(frames, (24, 32)) is frames
    assert fit_frames(single, (24, 32), "letterbox") is single


def test_empty_batch() -> None:
    assert fit_frames(np.zeros((0, 24, 32, 3), np.uint8), (8, 8)).shape == (0, 8, 8, 3)


@pytest.mark.parametrize(
    ("size", "expected"), [((12, 16), cv2.INTER_AREA), ((48, 64), cv2.INTER_LINEAR)]
)
def test_interpolation_depends_on_direction(
    monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], expected: int
) -> None:
    used: list[int] = []
    resize = cv2.resize

    def spy(frame: np.ndarray, dsize: tuple[int, int], interpolation: int) -> np.ndarray:
        used.append(interpolation)
        return resize(frame, dsize, interpolation=interpolation)

    monkeypatch.setattr(cv2, "resize", spy)
    for mode in ("crop", "letterbox"):
        assert fit_frames(np.zeros((24, 32, 3), np.uint8), size, mode).shape == (*size, 3)
    assert used == [expected, expected]


@pytest.mark.parametrize(
    ("frames", "size", "mode"),
    [
        (np.zeros((24, 32, 3), np.float32), (8, 8), "crop"),
        (np.zeros((24, 32), np.uint8), (8, 8), "crop"),
        (np.zeros((2, 24, 32, 4), np.uint8), (8, 8), "crop"),
        (np.zeros((24, 32, 3), np.uint8), (0, 8), "crop"),
        (np.zeros((24, 32, 3), np.uint8), (8, 8), "stretch"),
    ],
)
def test_bad_arguments_raise_value_error(
    frames: np.ndarray, size: tuple[int, int], mode: str
) -> None:
    with pytest.raises(ValueError):
        fit_frames(frames, size, mode)  # type: ignore[arg-type]


def test_crops_of_extreme_aspect_ratios_cut_before_scaling() -> None:
    """A decoder may scale whole frames first, except where that would be huge."""
    assert plan_fit((1080, 1920), (64, 64), "crop").decoder_scales
    extreme = plan_fit((10, 4000), (64, 64), "crop")
    assert not extreme.decoder_scales and extreme.scaled[1] > 20_000
    frame = np.zeros((10, 4000, 3), np.uint8)
    frame[:, 1995:2005] = 255  # a bar in the middle: all that a centred crop keeps
    fitted = fit_frames(frame, (64, 64), "crop")
    assert fitted.shape == (64, 64, 3) and fitted.mean() > 200
