"""The one-figure report of ``explorer compare``: both maps coloured by time, both PSNR
curves on one plot with a legend, and a row of sample frames (the original as the first
model sees it, then each model's reconstruction). Drawn with OpenCV on a numpy canvas, as
the traversal grid is: no plotting library is needed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from explorer.analysis.compare import FramePSNR, MapPair, mean_db, sample_lines
from explorer.latent.trajectory import Trajectory
from explorer.model.contract import AnyVAE
from explorer.pipeline.decode import decode_row
from explorer.pipeline.export import draw_label
from explorer.video.fitting import fit_frames
from explorer.video.reader import open_video

WIDTH = 1480
MARGIN = 20
TILE = 88
"""The side of a sample picture."""
COLOUR_A = (40, 110, 230)
"""RGB: the first model's colour (the timeline's blue, darker to read on white)."""
COLOUR_B = (235, 120, 20)
"""RGB: the second model's colour."""
_INK, _GRID, _FONT = (30, 30, 30), (225, 225, 225), cv2.FONT_HERSHEY_SIMPLEX
_MAP_HEIGHT, _PLOT_HEIGHT = 430, 250


@dataclass(frozen=True)
class Sample:
    """One sample frame: the original at the first model's input size, and both
    reconstructions (``b`` None where the second model has no row for the frame)."""

    frame: int
    time_s: float
    original: np.ndarray
    a: np.ndarray
    b: np.ndarray | None
    psnr_a: float
    psnr_b: float


@dataclass(frozen=True)
class Report:
    """Everything the figure shows; ``name_a`` and ``name_b`` name the models."""

    title: str
    name_a: str
    name_b: str
    maps: MapPair
    time_a: np.ndarray
    """Seconds of each point of map ``a``, which colour it."""
    time_b: np.ndarray
    table: FramePSNR
    samples: Sequence[Sample]


def collect_samples(video: str | os.PathLike[str], vae_a: AnyVAE, a: Trajectory,
                    vae_b: AnyVAE, b: Trajectory, table: FramePSNR,
                    count: int = 5) -> list[Sample]:
    """``count`` evenly spaced frames of ``table``, read from ``video`` and decoded from
    both trajectories."""
    samples = []
    with open_video(video) as reader:
        for line in sample_lines(len(table), count):
            frame = int(table.frame[line])
            original = fit_frames(reader.frame(frame), vae_a.frame_size, vae_a.fit_mode)
            row_a, row_b = int(table.row_a[line]), int(table.row_b[line])
            recon_b = None if row_b < 0 else _decoded(vae_b, b, row_b, frame)
            samples.append(Sample(frame, float(table.time_s[line]), original,
                                  _decoded(vae_a, a, row_a, frame), recon_b,
                                  float(table.psnr_a[line]), float(table.psnr_b[line])))
    return samples


def _decoded(vae: AnyVAE, trajectory: Trajectory, row: int, frame: int) -> np.ndarray:
    """Video frame ``frame`` as trajectory row ``row`` decodes it."""
    frames = decode_row(vae, trajectory, row)
    return frames[min(frame - trajectory.frames_of(row)[0], len(frames) - 1)]


def report_image(report: Report) -> np.ndarray:
    """The figure, [H, WIDTH, 3] RGB uint8."""
    header = _header(report)
    maps = _maps(report)
    plot = _plot(report)
    samples = _samples(report)
    return np.concatenate([header, maps, plot, samples], axis=0)


# --- drawing -----------------------------------------------------------------------------


def _canvas(height: int) -> np.ndarray:
    return np.full((height, WIDTH, 3), 255, np.uint8)


def _text(image: np.ndarray, text: str, x: int, y: int, colour=_INK, scale: float = 0.5,
          thickness: int = 1, right: bool = False) -> None:
    """``text`` (ASCII: OpenCV's fonts have no other glyphs) with its baseline at ``y``,
    starting at ``x`` or, ``right``, ending there."""
    if right:
        x -= cv2.getTextSize(text, _FONT, scale, thickness)[0][0]
    cv2.putText(image, text, (int(x), int(y)), _FONT, scale, colour, thickness, cv2.LINE_AA)


def _mean(psnr: np.ndarray) -> str:
    value = mean_db(psnr)
    return "not measured" if value is None else f"{value:.2f} dB"


def _header(report: Report) -> np.ndarray:
    image = _canvas(96)
    _text(image, report.title, MARGIN, 32, scale=0.8, thickness=2)
    table = report.table
    for row, (letter, name, psnr, colour) in enumerate((
            ("A", report.name_a, table.psnr_a, COLOUR_A),
            ("B", report.name_b, table.psnr_b, COLOUR_B))):
        _text(image, f"{letter}: {name}  -  mean PSNR {_mean(psnr)}", MARGIN, 60 + 24 * row,
              colour, 0.6, 2)
    return image


def _viridis(values: np.ndarray) -> np.ndarray:
    """[N] values in 0..1 as RGB colours [N, 3]."""
    shades = np.clip(np.asarray(values) * 255, 0, 255).astype(np.uint8).reshape(-1, 1)
    return cv2.applyColorMap(shades, cv2.COLORMAP_VIRIDIS).reshape(-1, 3)[:, ::-1]


def _maps(report: Report) -> np.ndarray:
    image = _canvas(_MAP_HEIGHT)
    pair = report.maps
    width = (WIDTH - 3 * MARGIN) // 2
    # aligned maps share one scale, so their spreads can be compared too
    shared = np.concatenate([pair.a, pair.b]) if pair.aligned else None
    end = float(max(np.max(report.time_a, initial=0.0), np.max(report.time_b, initial=0.0)))
    for column, (points, times, title, colour) in enumerate((
            (pair.a, report.time_a, f"A: {report.name_a}", COLOUR_A),
            (pair.b, report.time_b, f"B: {report.name_b}  ({pair.note})", COLOUR_B))):
        left = MARGIN + column * (width + MARGIN)
        _text(image, title, left, 22, colour, 0.55, 2)
        box = (left, 34, width, _MAP_HEIGHT - 34 - 30)
        _scatter(image, box, points, np.asarray(times) / end if end > 0 else times * 0,
                 points if shared is None else shared)
    _time_key(image, MARGIN, _MAP_HEIGHT - 12, end)
    return image


def _scatter(image: np.ndarray, box: tuple[int, int, int, int], points: np.ndarray,
             shade: np.ndarray, bounds: np.ndarray) -> None:
    """``points`` [N, 2] in ``box`` (left, top, width, height), one unit as long across
    as up, fitted to ``bounds``' extent; the line joins them in time order."""
    left, top, width, height = box
    cv2.rectangle(image, (left, top), (left + width, top + height), _GRID, 1)
    if not len(points):
        return
    low, high = bounds.min(axis=0), bounds.max(axis=0)
    span = float(max(np.max(high - low), 1e-9))
    scale = min((width - 24) / span, (height - 24) / span)
    centre = (low + high) / 2
    x = left + width / 2 + (points[:, 0] - centre[0]) * scale
    y = top + height / 2 - (points[:, 1] - centre[1]) * scale  # up is up
    xy = np.stack([x, y], axis=1).round().astype(np.int32)
    cv2.polylines(image, [xy.reshape(-1, 1, 2)], False, (200, 200, 200), 1, cv2.LINE_AA)
    for (px, py), colour in zip(xy, _viridis(shade), strict=True):
        cv2.circle(image, (int(px), int(py)), 4, tuple(int(c) for c in colour), -1, cv2.LINE_AA)


def _time_key(image: np.ndarray, left: int, baseline: int, end: float) -> None:
    """The colour scale of the maps' points."""
    _text(image, "time:  0 s", left, baseline)
    bar_left, bar_width = left + 96, 200
    colours = _viridis(np.linspace(0, 1, bar_width))
    image[baseline - 10:baseline, bar_left:bar_left + bar_width] = colours[None]
    _text(image, f"{end:.1f} s", bar_left + bar_width + 8, baseline)


def _plot(report: Report) -> np.ndarray:
    """Both PSNR curves against time, with value and time ticks and a legend."""
    image = _canvas(_PLOT_HEIGHT)
    table = report.table
    left, top, right, bottom = MARGIN + 60, 30, WIDTH - MARGIN, _PLOT_HEIGHT - 40
    _text(image, "Reconstruction PSNR per frame (dB, higher is better)", MARGIN, 18, scale=0.55,
          thickness=2)
    values = np.concatenate([table.psnr_a, table.psnr_b])
    values = values[np.isfinite(values)]
    if not len(values):
        _text(image, "not measured", left + 10, (top + bottom) // 2)
        return image
    low, high = float(values.min()) - 1.0, float(values.max()) + 1.0
    times = table.time_s
    start, end = float(times[0]), float(max(times[-1], times[0] + 1e-6))

    def x_of(seconds: np.ndarray) -> np.ndarray:
        return left + (np.asarray(seconds) - start) / (end - start) * (right - left)

    def y_of(db: np.ndarray) -> np.ndarray:
        return bottom - (np.asarray(db) - low) / (high - low) * (bottom - top)

    for tick in _ticks(low, high):
        y = round(float(y_of(tick)))
        cv2.line(image, (left, y), (right, y), _GRID, 1)
        _text(image, f"{tick:g}", left - 8, y + 5, right=True)
    for tick in _ticks(start, end):
        x = round(float(x_of(tick)))
        cv2.line(image, (x, bottom), (x, bottom + 5), _INK, 1)
        label = f"{tick:g} s"
        half = cv2.getTextSize(label, _FONT, 0.5, 1)[0][0] // 2
        _text(image, label, min(x - half, WIDTH - MARGIN - 2 * half), bottom + 22)
    cv2.rectangle(image, (left, top), (right, bottom), (160, 160, 160), 1)
    for psnr, colour in ((table.psnr_a, COLOUR_A), (table.psnr_b, COLOUR_B)):
        _curve(image, x_of(times), y_of(psnr), colour)
    _legend(image, right, 4, [
        (f"A: {report.name_a} ({_mean(table.psnr_a)})", COLOUR_A),
        (f"B: {report.name_b} ({_mean(table.psnr_b)})", COLOUR_B)])
    return image


def _ticks(low: float, high: float, wanted: int = 6) -> list[float]:
    """Round values from ``low`` to ``high``, about ``wanted`` of them."""
    raw = (high - low) / wanted
    if raw <= 0:
        return [low]
    power = 10 ** np.floor(np.log10(raw))
    step = min((s * power for s in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    first = np.ceil(low / step) * step
    return [float(round(v, 6)) for v in np.arange(first, high + step * 1e-6, step)]


def _curve(image: np.ndarray, x: np.ndarray, y: np.ndarray, colour: tuple) -> None:
    """A polyline through the measured values; a gap where a value is missing."""
    finite = np.isfinite(y)
    points = np.stack([x, np.where(finite, y, 0)], axis=1).round().astype(np.int32)
    runs = np.split(np.arange(len(y)), np.flatnonzero(np.diff(finite.astype(np.int8))) + 1)
    for run in runs:
        if len(run) and finite[run[0]]:
            cv2.polylines(image, [points[run].reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
            if len(run) == 1:
                cv2.circle(image, tuple(int(v) for v in points[run[0]]), 3, colour, -1)


def _legend(image: np.ndarray, right: int, top: int, entries: list[tuple[str, tuple]]) -> None:
    """The entries in a row above the plot, ending at ``right``: a line of each colour
    and its text (above, not inside, so that it hides no part of a curve)."""
    widths = [cv2.getTextSize(text, _FONT, 0.5, 1)[0][0] + 64 for text, _ in entries]
    left, y = right - sum(widths), top + 16
    for (text, colour), width in zip(entries, widths, strict=True):
        cv2.line(image, (left, y - 5), (left + 24, y - 5), colour, 3)
        _text(image, text, left + 30, y)
        left += width


def _samples(report: Report) -> np.ndarray:
    """Each sample as original | A | B, the frame and time above it."""
    image = _canvas(56 + TILE + MARGIN)
    _text(image, "Samples: original (as A sees it) | A | B", MARGIN, 20, scale=0.55, thickness=2)
    if not report.samples:
        return image
    group = 3 * TILE + 4
    gap = (WIDTH - 2 * MARGIN - len(report.samples) * group) // max(1, len(report.samples) - 1)
    for number, sample in enumerate(report.samples):
        left = MARGIN + number * (group + min(gap, 60))
        _text(image, f"frame {sample.frame}, {sample.time_s:.2f} s", left, 46)
        tiles = [(sample.original, "original"),
                 (sample.a, _tile_label("A", sample.psnr_a)),
                 (sample.b, _tile_label("B", sample.psnr_b))]
        for index, (picture, label) in enumerate(tiles):
            x = left + index * (TILE + 2)
            if picture is None:
                image[56:56 + TILE, x:x + TILE] = 200
                tile = draw_label(image[56:56 + TILE, x:x + TILE], "no row")
            else:
                tile = draw_label(fit_frames(np.ascontiguousarray(picture), (TILE, TILE),
                                             "letterbox"), label)
            image[56:56 + TILE, x:x + TILE] = tile
    return image


def _tile_label(letter: str, psnr: float) -> str:
    return f"{letter} {psnr:.1f} dB" if np.isfinite(psnr) else letter
