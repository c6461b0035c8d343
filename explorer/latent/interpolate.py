"""Paths through latent space between keyframes, and even spacing along drawn paths.

:func:`interpolate` joins two or more keyframes with straight lines (``lerp``), great-circle
arcs about the origin (``slerp``: the right path between samples of a Gaussian prior, whose
norms concentrate on a shell that a straight line cuts through) or a centripetal
Catmull-Rom spline through all of them (``spline``). By default the frames are spaced at
constant speed along the whole path, so a clip does not rush through long segments;
easing then shapes that speed over the clip.

Every segment of every method is a weighted sum of at most four control points, so arc
lengths come from 4 × 4 Gram matrices without ever sampling in latent space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from explorer.model.video_vae.rule import FrameRule

# The names, in the order menus and --help list them (the usual choice first).
Method = Literal["slerp", "lerp", "spline"]
Easing = Literal["linear", "ease-in-out", "ease-in", "ease-out"]

METHODS: tuple[Method, ...] = get_args(Method)
METHOD_LABELS: dict[Method, str] = {
    "slerp": "spherical (slerp)",
    "lerp": "linear (lerp)",
    "spline": "smooth spline",
}
"""What a menu calls each method."""
EASING_NAMES: tuple[Easing, ...] = get_args(Easing)
EASINGS: dict[Easing, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda u: u,
    "ease-in-out": lambda u: u * u * (3.0 - 2.0 * u),
    "ease-in": lambda u: u * u,
    "ease-out": lambda u: 1.0 - (1.0 - u) ** 2,
}
"""Each easing as a map of progress [0, 1] onto itself."""

# Samples per segment for the arc-length table, and rows of output built at a time.
_ARC_SAMPLES = 128
_BLOCK = 1 << 20
# Below this sine of the angle between two keyframes, slerp falls back to lerp.
_PARALLEL = 1e-6


def steps_for(seconds: float, fps: float) -> int:
    """Frames in a clip of ``seconds`` at ``fps`` (at least the two end keyframes)."""
    if seconds <= 0 or fps <= 0:
        raise ValueError("duration and frame rate must be positive")
    return max(2, round(seconds * fps))


def path_latents(frames: int, rule: FrameRule | None) -> int:
    """Latents a path takes for a clip of ``frames`` frames: one a frame, or with a video
    autoencoder's ``rule`` as many latent steps as the frames need (the clip then has
    ``rule.frames_for`` of them, a few more). At least the two end keyframes."""
    return frames if rule is None else max(2, rule.steps_for(frames))


def interpolate(
    keyframes: np.ndarray,
    steps: int,
    method: Method = "lerp",
    easing: Easing = "linear",
    constant_speed: bool = True,
) -> np.ndarray:
    """``steps`` latents [steps, *shape] from the first keyframe [K, *shape] to the last.

    The first and last outputs are exactly the first and last keyframes. With
    ``constant_speed`` the frames are evenly spaced by arc length along the path
    (before easing); without it every segment gets the same number of frames.
    """
    keyframes = np.asarray(keyframes)
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}")
    if easing not in EASINGS:
        raise ValueError(f"unknown easing {easing!r}")
    if steps < 2 or len(keyframes) < 1:
        raise ValueError("need at least one keyframe and two steps")
    dtype = np.result_type(keyframes.dtype, np.float32)
    flat = keyframes.reshape(len(keyframes), -1).astype(np.float64)
    if len(flat) == 1:
        return np.repeat(keyframes.astype(dtype), steps, axis=0)
    controls = _with_phantoms(flat)
    progress = EASINGS[easing](np.linspace(0.0, 1.0, steps))
    position = _arc_positions(controls, method, progress) if constant_speed else None
    if position is None:
        position = progress * (len(flat) - 1)
    path = _evaluate(controls, method, position)
    path[0], path[-1] = flat[0], flat[-1]  # exact, whatever rounding did to the ends
    return path.astype(dtype).reshape(steps, *keyframes.shape[1:])


def resample_polyline(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points [count, d] evenly spaced by arc length along ``points`` [M, d].

    The ends are kept exactly; a path of one point (or of zero length) repeats it.
    """
    points = np.asarray(points, np.float64)
    if count < 2 or len(points) < 1:
        raise ValueError("need at least one point and a count of two or more")
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    if len(points) == 1 or lengths.sum() == 0:
        return np.repeat(points[:1], count, axis=0)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    segment, fraction = _locate(cumulative, np.linspace(0.0, cumulative[-1], count))
    fraction = fraction[:, None]
    return (1.0 - fraction) * points[segment] + fraction * points[segment + 1]


def _locate(cumulative: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval index and fraction of each target in a non-decreasing table."""
    segment = np.searchsorted(cumulative, targets, side="right") - 1
    segment = np.clip(segment, 0, len(cumulative) - 2)
    width = cumulative[segment + 1] - cumulative[segment]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(width > 0, (targets - cumulative[segment]) / width, 0.0)
    return segment, np.clip(fraction, 0.0, 1.0)


def _with_phantoms(flat: np.ndarray) -> np.ndarray:
    """Keyframes [K, D] with a reflected point added at each end: [K + 2, D].

    Segment i runs from row i + 1 to row i + 2; rows i and i + 3 shape the spline's
    tangents there (the reflections make the end tangents point along the end segments).
    """
    return np.concatenate([2 * flat[:1] - flat[1:2], flat, 2 * flat[-1:] - flat[-2:-1]])


def _windows(controls: np.ndarray) -> np.ndarray:
    """The four control rows of each segment, [K - 1, 4, D] (a view)."""
    return sliding_window_view(controls, (4, controls.shape[1]))[:, 0]


def _segment_weights(
    controls: np.ndarray,
    grams: np.ndarray | None,
    method: str,
    segment: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """Weights [S, 4] on a segment's four control rows at local parameters ``t`` [S]."""
    if method == "spline":
        return _spline_weights(controls, segment, t)
    weight = np.zeros((len(t), 4))
    weight[:, 1], weight[:, 2] = 1.0 - t, t
    if method == "slerp":
        gram = grams[segment]
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = gram[:, 1, 2] / np.sqrt(gram[:, 1, 1] * gram[:, 2, 2])
        angle = np.arccos(np.clip(np.nan_to_num(cosine, nan=1.0), -1.0, 1.0))
        sine = np.sin(angle)
        arc = sine > _PARALLEL  # else nearly (anti)parallel or zero: keep lerp
        weight[arc, 1] = np.sin((1.0 - t[arc]) * angle[arc]) / sine[arc]
        weight[arc, 2] = np.sin(t[arc] * angle[arc]) / sine[arc]
    return weight


def _spline_weights(controls: np.ndarray, segment: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Centripetal Catmull-Rom (knot spacing |ΔP|^½) in Hermite form, as control weights.

    Centripetal knots keep the curve from looping or overshooting where keyframes are
    unevenly spaced. A zero-length segment has zero tangents, so it stays put.
    """
    gaps = np.linalg.norm(np.diff(controls, axis=0), axis=1) ** 0.5
    # Floor for repeated keyframes: 1/gap terms cancel, so keep their ratios modest.
    gaps = np.maximum(gaps, 1e-6 * gaps.max() or 1.0)
    d0, d1, d2 = gaps[segment], gaps[segment + 1], gaps[segment + 2]
    zero = np.zeros_like(d0)
    # tangents at the segment's start and end, as weights on its four control rows
    start = d1[:, None] * np.column_stack(
        [-1 / d0 + 1 / (d0 + d1), 1 / d0 - 1 / d1, 1 / d1 - 1 / (d0 + d1), zero]
    )
    end = d1[:, None] * np.column_stack(
        [zero, -1 / d1 + 1 / (d1 + d2), 1 / d1 - 1 / d2, 1 / d2 - 1 / (d1 + d2)]
    )
    t2, t3 = t * t, t * t * t
    h00, h10, h01, h11 = 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, 3 * t2 - 2 * t3, t3 - t2
    weight = h10[:, None] * start + h11[:, None] * end
    weight[:, 1] += h00
    weight[:, 2] += h01
    return weight


def _arc_positions(controls: np.ndarray, method: str, progress: np.ndarray) -> np.ndarray | None:
    """Path parameters (segment + t) at fractions ``progress`` of the arc length.

    None when the path has no length. Lengths of short chords between dense samples come
    from each segment's Gram matrix; lerp and spline weights sum to one, so their control
    points are first centred, which keeps the Gram arithmetic well conditioned.
    """
    count = len(controls) - 3
    if method != "slerp":
        controls = controls - controls[1:-1].mean(axis=0)
    grams = _grams(controls)
    t = np.linspace(0.0, 1.0, _ARC_SAMPLES + 1)
    segment = np.repeat(np.arange(count), len(t))
    weight = _segment_weights(controls, grams, method, segment, np.tile(t, count))
    step = np.diff(weight.reshape(count, len(t), 4), axis=1)  # [K - 1, samples, 4]
    squared = np.einsum("snk,skl,snl->sn", step, grams, step)
    chords = np.sqrt(np.clip(squared, 0.0, None)).ravel()
    if chords.sum() <= 0:
        return None
    cumulative = np.concatenate([[0.0], np.cumsum(chords)])
    grid = np.concatenate([[0.0], (np.arange(count)[:, None] + t[1:]).ravel()])
    index, fraction = _locate(cumulative, progress * cumulative[-1])
    return (1.0 - fraction) * grid[index] + fraction * grid[index + 1]


def _grams(controls: np.ndarray) -> np.ndarray:
    """Each segment's 4 × 4 Gram matrix of its control rows: [K - 1, 4, 4]."""
    windows = _windows(controls)
    return np.matmul(windows, windows.transpose(0, 2, 1))


def _evaluate(controls: np.ndarray, method: str, position: np.ndarray) -> np.ndarray:
    """Points [S, D] (float64) at path parameters ``position`` (segment + t)."""
    segment = np.clip(np.floor(position).astype(np.intp), 0, len(controls) - 4)
    t = position - segment
    grams = _grams(controls) if method == "slerp" else None
    weight = _segment_weights(controls, grams, method, segment, t)
    windows = _windows(controls)
    path = np.empty((len(position), controls.shape[1]))
    block = max(1, _BLOCK // controls.shape[1])
    for start in range(0, len(position), block):
        rows = slice(start, start + block)
        path[rows] = np.einsum("sk,skd->sd", weight[rows], windows[segment[rows]])
    return path
