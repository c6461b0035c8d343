"""A trajectory as a table, one line a video frame, and the CSV files of the analyses.

A per-frame model's rows are frames already; a video autoencoder's latent step covers
several frames, and each of them gets a line with its step's values, so a table always
lines up with the video.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from explorer.fileio import atomic_output
from explorer.latent.trajectory import Trajectory

if TYPE_CHECKING:
    from explorer.analysis.anomalies import AnomalyScores
    from explorer.analysis.segments import Segmentation

Column = tuple[str, Sequence[object], str]
"""A column's name, its values and the format of a number (``"{:.3f}"``); None and NaN
are written as empty fields."""


@dataclass(frozen=True)
class FrameLines:
    """The video frames a trajectory covers, in order, and the row each belongs to."""

    row: np.ndarray
    frame: np.ndarray
    time: np.ndarray
    """Seconds from the start of the video."""


def frame_lines(trajectory: Trajectory) -> FrameLines:
    """One line per frame the trajectory covers (see the module docstring)."""
    rows = np.arange(len(trajectory))
    if not trajectory.is_temporal:
        return FrameLines(rows, trajectory.frame_index, trajectory.time_s)
    first, last = trajectory.frame_index, trajectory.last_frame
    row = np.repeat(rows, last - first + 1)
    starts = np.cumsum(last - first + 1) - (last - first + 1)
    within = np.arange(len(row)) - starts[row]
    fps = (trajectory.meta.get("video") or {}).get("fps")
    time = trajectory.time_s[row] + (within / fps if fps else 0.0)
    return FrameLines(row, first[row] + within, time)


def write_csv(path: str | os.PathLike[str], columns: Sequence[Column],
              overwrite: bool = True) -> None:
    """Write ``columns`` as a CSV file with a header line, atomically."""
    formatted = [[_field(value, form) for value in values] for _, values, form in columns]
    with atomic_output(path, overwrite=overwrite) as temp, \
            open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([name for name, _, _ in columns])
        writer.writerows(zip(*formatted, strict=True))


def _field(value: object, form: str) -> str:
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return ""
    return form.format(value)


def write_trajectory_csv(path: str | os.PathLike[str], trajectory: Trajectory,
                         segmentation: Segmentation | None = None,
                         anomalies: AnomalyScores | None = None,
                         overwrite: bool = True) -> None:
    """The trajectory's table: frame, time, map position (x, y), reconstruction PSNR,
    cluster, segment and anomaly score; a value not known is an empty field."""
    write_csv(path, trajectory_columns(trajectory, segmentation, anomalies), overwrite)


def write_trajectory_parquet(path: str | os.PathLike[str], trajectory: Trajectory,
                             segmentation: Segmentation | None = None,
                             anomalies: AnomalyScores | None = None,
                             overwrite: bool = True) -> None:
    """The same table as Parquet (a value not known is null), and for a library's joined
    trajectory the ``video`` each line is of, with its frame numbered in that video."""
    import pyarrow as pa
    import pyarrow.parquet as parquet

    from explorer.library.parts import joined_videos

    columns = {name: np.asarray(values, np.float64) for name, values, _ in
               trajectory_columns(trajectory, segmentation, anomalies)}
    table = {name: pa.array(values, mask=np.isnan(values)) for name, values in columns.items()}
    table["frame"] = pa.array(columns["frame"].astype(np.int64))
    videos = joined_videos(trajectory)
    if videos is not None:
        position = videos.row_video[frame_lines(trajectory).row]
        table["video"] = pa.array(np.asarray(videos.names, object)[position])
        table["frame"] = pa.array(columns["frame"].astype(np.int64) - videos.offsets[position])
    with atomic_output(path, overwrite=overwrite) as temp:
        parquet.write_table(pa.table(table), temp)


def trajectory_columns(trajectory: Trajectory, segmentation: Segmentation | None = None,
                       anomalies: AnomalyScores | None = None) -> list[Column]:
    """The columns of the trajectory's table, a line a video frame (NaN: not known)."""
    lines = frame_lines(trajectory)
    missing = np.full(len(lines.row), np.nan)

    def per_line(values: np.ndarray | None) -> np.ndarray:
        return missing if values is None else np.asarray(values)[lines.row]

    embedding = trajectory.embedding
    return [
        ("frame", lines.frame, "{:d}"),
        ("time", lines.time, "{:.4f}"),
        ("x", per_line(None if embedding is None else embedding[:, 0]), "{:.6g}"),
        ("y", per_line(None if embedding is None else embedding[:, 1]), "{:.6g}"),
        ("psnr_db", per_line(trajectory.psnr_db), "{:.2f}"),
        ("cluster", per_line(None if segmentation is None else segmentation.cluster), "{:.0f}"),
        ("segment", per_line(None if segmentation is None else segmentation.segment), "{:.0f}"),
        ("score", per_line(None if anomalies is None else anomalies.score), "{:.3f}"),
    ]
