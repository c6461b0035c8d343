"""Interpolation between keyframes, and even resampling of drawn paths."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.latent.interpolate import (
    EASING_NAMES,
    EASINGS,
    METHOD_LABELS,
    METHODS,
    interpolate,
    resample_polyline,
    steps_for,
)


def step_lengths(path: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.diff(path.reshape(len(path), -1), axis=0), axis=1)


def variation(path: np.ndarray) -> float:
    """Coefficient of variation of the distances between consecutive frames."""
    lengths = step_lengths(path)
    return float(lengths.std() / lengths.mean())


def test_every_method_and_easing_has_one_name_a_label_and_a_curve() -> None:
    assert list(METHOD_LABELS) == list(METHODS) == ["slerp", "lerp", "spline"]
    assert list(EASINGS) == list(EASING_NAMES) == ["linear", "ease-in-out", "ease-in",
                                                   "ease-out"]
    u = np.linspace(0.0, 1.0, 11)
    for ease in EASINGS.values():  # each maps [0, 1] onto itself, without turning back
        eased = ease(u)
        assert eased[0] == 0.0 and eased[-1] == 1.0 and (np.diff(eased) >= 0).all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("easing", EASING_NAMES)
def test_ends_are_exactly_the_first_and_last_keyframes(method: str, easing: str) -> None:
    keyframes = np.random.default_rng(0).standard_normal((4, 4, 2, 2)).astype(np.float32)
    path = interpolate(keyframes, 25, method, easing)
    assert path.shape == (25, 4, 2, 2) and path.dtype == np.float32
    assert np.array_equal(path[0], keyframes[0])
    assert np.array_equal(path[-1], keyframes[-1])


@pytest.mark.parametrize("method", METHODS)
def test_every_keyframe_is_passed_through(method: str) -> None:
    keyframes = np.random.default_rng(1).standard_normal((4, 16))
    path = interpolate(keyframes, 31, method, constant_speed=False)  # a frame every 10
    np.testing.assert_allclose(path[::10], keyframes, atol=1e-9)


def test_slerp_keeps_gaussian_norms_where_lerp_sags() -> None:
    a, b = np.random.default_rng(2).standard_normal((2, 512))
    keyframes = np.stack([a, b])
    norm = np.linalg.norm(keyframes, axis=1).mean()
    straight = np.linalg.norm(interpolate(keyframes, 21, "lerp"), axis=1)
    arc = np.linalg.norm(interpolate(keyframes, 21, "slerp"), axis=1)
    assert straight[10] / norm < 0.8  # about 1/√2 for independent samples
    assert np.abs(arc / norm - 1).max() < 0.05


def test_slerp_of_parallel_and_opposite_keyframes_stays_finite() -> None:
    a = np.ones(8)
    for b in (2 * a, -a, np.zeros(8)):
        path = interpolate(np.stack([a, b]), 9, "slerp")
        assert np.isfinite(path).all()
        np.testing.assert_allclose(path[4], (a + b) / 2, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_constant_speed_does_not_rush_through_long_segments(method: str) -> None:
    rng = np.random.default_rng(3)
    direction = rng.standard_normal((3, 64))
    # a short hop, then a long one: 1 : 12 in length
    keyframes = np.cumsum(np.stack([5 * direction[0], direction[1], 12 * direction[2]]), axis=0)
    even = interpolate(keyframes, 60, method)
    uneven = interpolate(keyframes, 60, method, constant_speed=False)
    assert variation(even) < 0.05
    assert variation(uneven) > 0.3


def test_constant_speed_along_a_straight_line_is_exact() -> None:
    keyframes = np.array([[0.0], [1.0], [20.0]])
    path = interpolate(keyframes, 43, "lerp")
    np.testing.assert_allclose(step_lengths(path), 20.0 / 42, rtol=1e-9)


def test_easing_slows_the_ends() -> None:
    keyframes = np.array([[0.0, 0.0], [10.0, 0.0]])
    linear = step_lengths(interpolate(keyframes, 41, "lerp"))
    both = step_lengths(interpolate(keyframes, 41, "lerp", "ease-in-out"))
    start = step_lengths(interpolate(keyframes, 41, "lerp", "ease-in"))
    end = step_lengths(interpolate(keyframes, 41, "lerp", "ease-out"))
    np.testing.assert_allclose(linear, linear[0])
    assert both[0] < 0.1 * both[20] and both[-1] < 0.1 * both[20]
    assert start[0] < 0.1 * start[-1] and end[-1] < 0.1 * end[0]


@pytest.mark.parametrize("method", METHODS)
def test_repeated_keyframes_give_a_pause_not_nans(method: str) -> None:
    keyframes = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    for constant_speed in (True, False):
        path = interpolate(keyframes, 31, method, constant_speed=constant_speed)
        assert np.isfinite(path).all()
        if not constant_speed:  # the repeated keyframe holds for a segment's frames
            np.testing.assert_allclose(path[10:21], np.ones((11, 2)), atol=1e-9)
    still = interpolate(np.ones((3, 5)), 7, method)
    np.testing.assert_allclose(still, np.ones((7, 5)), atol=1e-12)


def test_one_keyframe_is_held() -> None:
    keyframe = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    assert np.array_equal(interpolate(keyframe, 4), np.repeat(keyframe, 4, axis=0))


def test_large_latents() -> None:
    keyframes = np.random.default_rng(4).standard_normal((5, 4, 64, 64)).astype(np.float32)
    path = interpolate(keyframes, 48, "spline")
    assert path.shape == (48, 4, 64, 64) and np.isfinite(path).all()
    assert variation(path) < 0.05


def test_bad_arguments_are_refused() -> None:
    keyframes = np.zeros((2, 3))
    with pytest.raises(ValueError):
        interpolate(keyframes, 10, "cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        interpolate(keyframes, 10, easing="bounce")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        interpolate(keyframes, 1)


def test_steps_for_a_duration() -> None:
    assert steps_for(2.0, 24) == 48
    assert steps_for(1.0, 29.97) == 30
    assert steps_for(0.01, 24) == 2
    with pytest.raises(ValueError):
        steps_for(0, 24)


def test_resampled_polyline_is_evenly_spaced_and_keeps_its_ends() -> None:
    drawn = np.array([[0.0, 0.0], [0.1, 0.0], [0.1, 0.0], [3.0, 0.0], [3.0, 4.0]])
    even = resample_polyline(drawn, 15)
    assert even.shape == (15, 2)
    assert np.array_equal(even[0], drawn[0]) and np.array_equal(even[-1], drawn[-1])
    np.testing.assert_allclose(step_lengths(even), 0.5, rtol=1e-9)  # 7 long, in 14 steps


def test_resampling_a_point_repeats_it() -> None:
    assert np.array_equal(resample_polyline(np.array([[1.0, 2.0]]), 3), [[1.0, 2.0]] * 3)
    assert np.array_equal(resample_polyline(np.ones((4, 2)), 3), np.ones((3, 2)))
